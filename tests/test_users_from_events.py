"""Users from Lambda events: sample events modelled on the ones in AWS's documentation, data in, user out."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import (
    ALBEvent,
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
    KinesisStreamEvent,
    LambdaFunctionUrlEvent,
    SQSEvent,
)

from statsig_lite.errors import StatsigValueError
from statsig_lite.user import StatsigUser
from statsig_lite.users_from_events import (
    event_kind,
    user_from_alb,
    user_from_api_gateway,
    user_from_event,
    user_from_function_url,
    user_from_kinesis_record,
    user_from_sqs_record,
)

SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/71.0.3578.98 Safari/537.36"
)

# REST API (payload 1.0) behind a Cognito user pool authorizer, reached through CloudFront.
REST_COGNITO: dict[str, Any] = {
    "resource": "/orders/{orderId}",
    "path": "/orders/42",
    "httpMethod": "GET",
    "headers": {
        "Accept": "application/json",
        "Accept-Language": "de-CH,de;q=0.9,en;q=0.8",
        "Authorization": "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiI3ZDNhIn0.c2ln",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Viewer-Country": "CH",
        "Host": "a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com",
        "User-Agent": SAFARI,
        "Via": "2.0 a3650115c5e21e2b5d133ce84464bea3.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "0nDeiXnReyHYCkv8cc150MWCFCLFPbJoTs1mexDuKe2WJwK5ANgv2A==",
        "X-Amzn-Trace-Id": "Root=1-665ed4a0-3f5c1d1e2b7a4c0d9e8f7a6b",
        "X-Forwarded-For": "198.51.100.23, 130.176.47.12",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    },
    "multiValueHeaders": {
        "Accept": ["application/json"],
        "Accept-Language": ["de-CH,de;q=0.9,en;q=0.8"],
        "Authorization": ["eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiI3ZDNhIn0.c2ln"],
        "CloudFront-Viewer-Country": ["CH"],
        "Host": ["a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com"],
        "User-Agent": [SAFARI],
        "X-Forwarded-For": ["198.51.100.23, 130.176.47.12"],
    },
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {"orderId": "42"},
    "stageVariables": None,
    "requestContext": {
        "resourceId": "2gxmpl",
        "authorizer": {
            "claims": {
                "sub": "7d3a5f52-1c2b-4e8f-9a61-0b8e2f4c9d10",
                "cognito:groups": "beta-testers",
                "email_verified": "true",
                "iss": "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Ab12Cd34E",
                "cognito:username": "jane.doe",
                "origin_jti": "b4d0e7c2-6f1a-4f3e-8d2b-91c0a7e5f6d3",
                "aud": "5v2kq7l3m8n1p4r6s9t0u2w4xy",
                "event_id": "c9a1f4e2-3b7d-4a8c-9e6f-2d1b0a7c5e43",
                "token_use": "id",
                "auth_time": "1717491540",
                "exp": "Tue Jun 04 10:00:00 UTC 2024",
                "iat": "Tue Jun 04 09:00:00 UTC 2024",
                "jti": "e2f9c3a1-7b4d-4c6e-8a0f-5d3b2c1e9f87",
                "email": "jane.doe@example.com",
                "custom:tier": "gold",
            }
        },
        "resourcePath": "/orders/{orderId}",
        "httpMethod": "GET",
        "extendedRequestId": "ZbVrxGmpFiAEJ9Q=",
        "requestTime": "04/Jun/2024:09:00:00 +0000",
        "path": "/prod/orders/42",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "domainPrefix": "a1b2c3d4e5",
        "requestTimeEpoch": 1717491600000,
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": "198.51.100.23",
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": SAFARI,
            "user": None,
        },
        "domainName": "a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com",
        "apiId": "a1b2c3d4e5",
    },
    "body": None,
    "isBase64Encoded": False,
}

# REST API behind a Lambda (REQUEST) authorizer: its context sits flat beside principalId.
REST_LAMBDA_AUTHORIZER: dict[str, Any] = {
    "resource": "/",
    "path": "/",
    "httpMethod": "GET",
    "headers": {"user-agent": "curl/8.5.0", "accept": "*/*"},
    "multiValueHeaders": {"user-agent": ["curl/8.5.0"], "accept": ["*/*"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourceId": "x1y2z3",
        "authorizer": {
            "principalId": "user|a1b2c3",
            "integrationLatency": 212,
            "tenant": "acme",
            "plan": "enterprise",
            "email": "ops@acme.example",
        },
        "resourcePath": "/",
        "httpMethod": "GET",
        "path": "/prod/",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "requestTimeEpoch": 1717491600000,
        "requestId": "0f0e0d0c-0b0a-0908-0706-050403020100",
        "identity": {"sourceIp": "192.0.2.44", "userAgent": "curl/8.5.0"},
        "domainName": "x9y8z7w6v5.execute-api.us-east-1.amazonaws.com",
        "apiId": "x9y8z7w6v5",
    },
    "body": None,
    "isBase64Encoded": False,
}

# HTTP API (payload 2.0) behind a JWT authorizer (an OIDC provider's access token).
HTTP_API_JWT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "GET /orders/{orderId}",
    "rawPath": "/orders/42",
    "rawQueryString": "expand=items",
    "cookies": ["session=3f9a1c", "theme=dark"],
    "headers": {
        "accept": "application/json",
        "accept-encoding": "gzip",
        "accept-language": "fr-FR,fr;q=0.8",
        "authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMCJ9.c2ln",
        "content-length": "0",
        "host": "r3pmxmplak.execute-api.us-east-2.amazonaws.com",
        "user-agent": "okhttp/4.12.0",
        "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    },
    "queryStringParameters": {"expand": "items"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "r3pmxmplak",
        "authorizer": {
            "jwt": {
                "claims": {
                    "aud": "https://api.example.com",
                    "azp": "FT6TMjfHI2lkxjpAbG5tCjEdiEkyvMCA",
                    "exp": "1717495200",
                    "iat": "1717491600",
                    "iss": "https://example.eu.auth0.com/",
                    "scope": "orders:read",
                    "sub": "auth0|5fe435b5cbbc85006b071eba",
                    "email": "sam@example.org",
                    "https://example.com/plan": "pro",
                },
                "scopes": ["orders:read"],
            }
        },
        "domainName": "r3pmxmplak.execute-api.us-east-2.amazonaws.com",
        "domainPrefix": "r3pmxmplak",
        "http": {
            "method": "GET",
            "path": "/orders/42",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9",
            "userAgent": "okhttp/4.12.0",
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "GET /orders/{orderId}",
        "stage": "$default",
        "time": "04/Jun/2024:09:00:00 +0000",
        "timeEpoch": 1717491600000,
    },
    "pathParameters": {"orderId": "42"},
    "isBase64Encoded": False,
}

# HTTP API (payload 2.0) behind a Lambda authorizer with simple responses.
HTTP_API_LAMBDA_AUTHORIZER: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/",
    "rawQueryString": "",
    "headers": {"user-agent": "python-requests/2.32.3", "accept-language": "*"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "k7q2xmpl9z",
        "authorizer": {"lambda": {"userId": "u-9001", "tenant": "acme"}},
        "domainName": "k7q2xmpl9z.execute-api.us-west-2.amazonaws.com",
        "domainPrefix": "k7q2xmpl9z",
        "http": {
            "method": "GET",
            "path": "/",
            "protocol": "HTTP/1.1",
            "sourceIp": "198.51.100.77",
            "userAgent": "python-requests/2.32.3",
        },
        "requestId": "Abc1XmPLvHcEXYZ=",
        "routeKey": "$default",
        "stage": "$default",
        "time": "04/Jun/2024:09:00:00 +0000",
        "timeEpoch": 1717491600000,
    },
    "isBase64Encoded": False,
}

# ALB target, multi-value headers off (the default); the ALB appended the client's address to X-Forwarded-For.
ALB: dict[str, Any] = {
    "requestContext": {
        "elb": {
            "targetGroupArn": (
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/"
                "49e9d65c45c6791a"
            )
        }
    },
    "httpMethod": "GET",
    "path": "/lambda",
    "queryStringParameters": {"query": "1234ABCD"},
    "headers": {
        "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,image/apng,*/*;q=0.8",
        "accept-encoding": "gzip",
        "accept-language": "en-US,en;q=0.9",
        "connection": "keep-alive",
        "host": "lambda-alb-123578498.us-east-1.elb.amazonaws.com",
        "upgrade-insecure-requests": "1",
        "user-agent": CHROME,
        "x-amzn-trace-id": "Root=1-5c536348-3d683b8b04734faae651f476",
        "x-forwarded-for": "72.12.164.125, 10.0.3.17, 10.0.8.2",
        "x-forwarded-port": "80",
        "x-forwarded-proto": "http",
        "x-imforwards": "20",
    },
    "body": "",
    "isBase64Encoded": False,
}

# ALB target with multi-value headers on: only multiValueHeaders is sent.
ALB_MULTI_VALUE: dict[str, Any] = {
    "requestContext": ALB["requestContext"],
    "httpMethod": "GET",
    "path": "/lambda",
    "multiValueQueryStringParameters": {"query": ["1234ABCD"]},
    "multiValueHeaders": {
        "accept-language": ["pt-BR,pt;q=0.9"],
        "host": ["lambda-alb-123578498.us-east-1.elb.amazonaws.com"],
        "user-agent": [CHROME],
        "x-forwarded-for": ["72.12.164.125"],
        "x-forwarded-port": ["443"],
        "x-forwarded-proto": ["https"],
    },
    "body": "",
    "isBase64Encoded": False,
}

# Lambda function URL with auth type NONE.
FUNCTION_URL: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {
        "accept-language": "ja-JP",
        "host": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-west-2.on.aws",
        "user-agent": "agent/1.0",
        "x-amzn-trace-id": "Root=1-65f0a1b2-0123456789abcdef01234567",
        "x-device-id": "dev-7f3e",
        "x-forwarded-for": "123.123.123.123",
        "x-forwarded-proto": "https",
    },
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
        "authentication": None,
        "domainName": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-west-2.on.aws",
        "domainPrefix": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "123.123.123.123",
            "userAgent": "agent/1.0",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from client!",
    "pathParameters": None,
    "isBase64Encoded": False,
    "stageVariables": None,
}

# Lambda function URL with auth type AWS_IAM: the caller is an IAM principal, not a user.
FUNCTION_URL_IAM: dict[str, Any] = {
    **FUNCTION_URL,
    "requestContext": {
        **FUNCTION_URL["requestContext"],
        "authorizer": {
            "iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": "111122223333",
                "callerId": "AIDACKCEVSQ6C2EXAMPLE",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": "arn:aws:iam::111122223333:user/example-user",
                "userId": "AIDACOSFODNN7EXAMPLE2",
            }
        },
    },
}

SQS_EVENT: dict[str, Any] = {
    "Records": [
        {
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": '{"orderId": "o-1", "userID": "body-user"}',
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1545082649183",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082649185",
            },
            "messageAttributes": {
                "userID": {
                    "stringValue": "user-123",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                },
                "traceparent": {
                    "stringValue": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                },
            },
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
            "awsRegion": "us-east-2",
        },
        {
            "messageId": "2e1424d4-f796-459a-8184-9c92662be6da",
            "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
            "body": '{"orderId": "o-2", "userID": "body-user-2"}',
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1545082650636",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082650649",
            },
            "messageAttributes": {},
            "md5OfBody": "f9a1b2c3d4e5f60718293a4b5c6d7e8f",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
            "awsRegion": "us-east-2",
        },
        {
            "messageId": "9b3c8f1e-5a2d-4c7b-8e6f-1d0a9c8b7e6f",
            "receiptHandle": "AQEBq8mLk3xJ0y7rT2vW4nPz+/5e1aHc9d...",
            "body": "test",
            "attributes": {
                "ApproximateReceiveCount": "3",
                "SentTimestamp": "1545082651000",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1545082651010",
            },
            "messageAttributes": {
                "userID": {
                    "binaryValue": "dXNlci1iaW4=",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "Binary",
                }
            },
            "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
            "awsRegion": "us-east-2",
        },
    ]
}

KINESIS_EVENT: dict[str, Any] = {
    "Records": [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "user-8812",
                "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                # {"userID": "user-8812", "event": "checkout_completed", "value": 59.9}
                "data": "eyJ1c2VySUQiOiAidXNlci04ODEyIiwgImV2ZW50IjogImNoZWNrb3V0X2NvbXBsZXRlZCIsICJ2YWx1ZSI6IDU5Ljl9",
                "approximateArrivalTimestamp": 1545084650.987,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
        },
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "1",
                "sequenceNumber": "49590338271490256608559692540925702759324208523137515618",
                # {"userID": 4711, "event": "page_view"}
                "data": "eyJ1c2VySUQiOiA0NzExLCAiZXZlbnQiOiAicGFnZV92aWV3In0=",
                "approximateArrivalTimestamp": 1545084711.166,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692540925702759324208523137515618",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
        },
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "1",
                "sequenceNumber": "49590338271490256608559692540925702759324208523137515619",
                "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",  # "Hello, this is a test." (AWS's sample)
                "approximateArrivalTimestamp": 1545084711.2,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": "shardId-000000000006:49590338271490256608559692540925702759324208523137515619",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-2",
            "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
        },
    ]
}

SCHEDULED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2015-10-08T16:53:06Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
    "detail": {},
}


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(event)


# --- API Gateway REST (payload 1.0) ---


def test_rest_cognito_event_gives_sub_email_ip_agent_locale_and_country() -> None:
    user = user_from_api_gateway(REST_COGNITO)

    assert user.user_id == "7d3a5f52-1c2b-4e8f-9a61-0b8e2f4c9d10"
    assert user.email == "jane.doe@example.com"
    assert user.ip == "198.51.100.23"
    assert user.user_agent == SAFARI
    assert user.locale == "de-CH"
    assert user.country == "CH"
    assert user.custom is None
    assert user.custom_ids is None


def test_claims_not_listed_stay_out_of_custom() -> None:
    user = user_from_api_gateway(REST_COGNITO, claims_to_custom=["custom:tier", "no-such-claim"])

    assert user.custom == {"custom:tier": "gold"}
    logged = repr(user.to_dict())
    for unlisted in ("beta-testers", "eu-central-1_Ab12Cd34E", "5v2kq7l3m8n1p4r6s9t0u2w4xy", "token_use"):
        assert unlisted not in logged


def test_explicit_custom_is_laid_over_claims_and_custom_ids_pass_through() -> None:
    user = user_from_api_gateway(
        REST_COGNITO,
        claims_to_custom=("custom:tier", "cognito:groups"),
        custom={"custom:tier": "platinum", "cart_size": 3},
        custom_ids={"companyID": "acme"},
    )

    assert user.custom == {"custom:tier": "platinum", "cognito:groups": "beta-testers", "cart_size": 3}
    assert user.custom_ids == {"companyID": "acme"}


def test_explicit_user_id_wins_over_the_claim() -> None:
    assert user_from_api_gateway(REST_COGNITO, user_id="db-user-17").user_id == "db-user-17"


def test_id_claim_chooses_which_claim_is_the_user_id() -> None:
    assert user_from_api_gateway(REST_COGNITO, id_claim="cognito:username").user_id == "jane.doe"


def test_missing_id_claim_leaves_user_id_none_but_keeps_email() -> None:
    user = user_from_api_gateway(REST_COGNITO, id_claim="custom:employee_id")

    assert user.user_id is None
    assert user.email == "jane.doe@example.com"


def test_rest_lambda_authorizer_context_and_principal_id() -> None:
    user = user_from_api_gateway(REST_LAMBDA_AUTHORIZER, claims_to_custom=["tenant", "integrationLatency"])

    assert user.user_id == "user|a1b2c3"  # no "sub" in the context: the authorizer's principalId
    assert user.email == "ops@acme.example"
    assert user.custom == {"tenant": "acme"}  # integrationLatency is API Gateway's, not a claim
    assert user.ip == "192.0.2.44"
    assert user.user_agent == "curl/8.5.0"
    assert user.locale is None
    assert user.country is None


def test_rest_lambda_authorizer_context_key_as_id_claim() -> None:
    event = fresh(REST_LAMBDA_AUTHORIZER)
    event["requestContext"]["authorizer"]["sub"] = "tenant-user-5"

    assert user_from_api_gateway(event).user_id == "tenant-user-5"


def test_missing_headers_leave_fields_none() -> None:
    event = fresh(REST_COGNITO)
    event["headers"] = None
    event["multiValueHeaders"] = None
    del event["requestContext"]["identity"]["userAgent"]
    del event["requestContext"]["identity"]["sourceIp"]
    event["requestContext"]["authorizer"] = None

    user = user_from_api_gateway(event)

    assert user == StatsigUser()


def test_user_agent_falls_back_to_the_request_context() -> None:
    event = fresh(REST_COGNITO)
    event["headers"] = {}
    event["multiValueHeaders"] = {}

    user = user_from_api_gateway(event)

    assert user.user_agent == SAFARI
    assert user.locale is None
    assert user.country is None


def test_header_names_match_case_insensitively() -> None:
    event = fresh(REST_LAMBDA_AUTHORIZER)
    event["headers"] = {"USER-AGENT": "Shouty/1.0", "accept-LANGUAGE": "nl-BE", "cloudfront-viewer-country": "BE"}

    user = user_from_api_gateway(event)

    assert (user.user_agent, user.locale, user.country) == ("Shouty/1.0", "nl-BE", "BE")


def test_wildcard_accept_language_is_no_locale() -> None:
    assert user_from_api_gateway(HTTP_API_LAMBDA_AUTHORIZER).locale is None


def test_http_api_payload_1_0_with_flat_jwt_claims() -> None:
    event = fresh(REST_LAMBDA_AUTHORIZER)
    event["version"] = "1.0"
    event["requestContext"]["authorizer"] = {"claims": {"sub": "auth0|abc", "email": "kim@example.net"}, "scopes": None}

    user = user_from_api_gateway(event)

    assert (user.user_id, user.email) == ("auth0|abc", "kim@example.net")


# --- API Gateway HTTP API (payload 2.0) ---


def test_http_api_jwt_claims() -> None:
    user = user_from_api_gateway(HTTP_API_JWT, claims_to_custom=["https://example.com/plan"])

    assert user.user_id == "auth0|5fe435b5cbbc85006b071eba"
    assert user.email == "sam@example.org"
    assert user.ip == "203.0.113.9"
    assert user.user_agent == "okhttp/4.12.0"
    assert user.locale == "fr-FR"
    assert user.country is None
    assert user.custom == {"https://example.com/plan": "pro"}


def test_http_api_lambda_authorizer_context() -> None:
    user = user_from_api_gateway(HTTP_API_LAMBDA_AUTHORIZER, id_claim="userId", claims_to_custom=["tenant"])

    assert user.user_id == "u-9001"
    assert user.email is None
    assert user.ip == "198.51.100.77"
    assert user.custom == {"tenant": "acme"}


def test_http_api_user_agent_with_commas_is_kept_whole() -> None:
    event = fresh(HTTP_API_JWT)
    event["headers"]["user-agent"] = CHROME

    assert user_from_api_gateway(event).user_agent == CHROME


def test_http_api_without_headers() -> None:
    event = fresh(HTTP_API_JWT)
    del event["headers"]
    del event["requestContext"]["http"]["userAgent"]

    user = user_from_api_gateway(event)

    assert (user.user_agent, user.locale, user.ip) == (None, None, "203.0.113.9")


# --- ALB ---


def test_alb_ip_is_the_first_hop_of_x_forwarded_for() -> None:
    user = user_from_alb(ALB)

    assert user.ip == "72.12.164.125"
    assert user.user_agent == CHROME
    assert user.locale == "en-US"
    assert user.user_id is None


def test_alb_with_multi_value_headers() -> None:
    user = user_from_alb(ALB_MULTI_VALUE)

    assert (user.ip, user.user_agent, user.locale) == ("72.12.164.125", CHROME, "pt-BR")


def test_alb_without_x_forwarded_for_has_no_ip() -> None:
    event = fresh(ALB)
    del event["headers"]["x-forwarded-for"]

    assert user_from_alb(event).ip is None


def test_alb_takes_user_id_from_the_caller() -> None:
    user = user_from_alb(ALB, user_id="session-user-3", custom={"plan": "free"})

    assert (user.user_id, user.custom) == ("session-user-3", {"plan": "free"})


# --- Function URL ---


def test_function_url() -> None:
    user = user_from_function_url(FUNCTION_URL)

    assert user.ip == "123.123.123.123"
    assert user.user_agent == "agent/1.0"
    assert user.locale == "ja-JP"
    assert user.user_id is None


def test_function_url_iam_principal_is_not_a_user() -> None:
    user = user_from_function_url(FUNCTION_URL_IAM)

    assert user.user_id is None
    assert user.custom is None


def test_stable_id_header_is_used_only_when_there_is_no_user_id() -> None:
    anonymous = user_from_function_url(FUNCTION_URL, stable_id_header="X-Device-ID")
    known = user_from_function_url(FUNCTION_URL, stable_id_header="X-Device-ID", user_id="u-1")
    given = user_from_function_url(FUNCTION_URL, stable_id_header="X-Device-ID", custom_ids={"stableID": "s-0"})
    absent = user_from_function_url(FUNCTION_URL, stable_id_header="X-Not-Sent")

    assert (anonymous.user_id, anonymous.custom_ids) == (None, {"stableID": "dev-7f3e"})
    assert known.custom_ids is None
    assert given.custom_ids == {"stableID": "s-0"}
    assert absent.custom_ids is None


# --- the dispatcher ---


@pytest.mark.parametrize(
    ("event", "kind", "helper"),
    [
        (REST_COGNITO, "rest", user_from_api_gateway),
        (REST_LAMBDA_AUTHORIZER, "rest", user_from_api_gateway),
        (HTTP_API_JWT, "http", user_from_api_gateway),
        (HTTP_API_LAMBDA_AUTHORIZER, "http", user_from_api_gateway),
        (ALB, "alb", user_from_alb),
        (ALB_MULTI_VALUE, "alb", user_from_alb),
        (FUNCTION_URL, "function_url", user_from_function_url),
    ],
)
def test_user_from_event_recognises_each_shape(
    event: dict[str, Any], kind: str, helper: Callable[..., StatsigUser]
) -> None:
    assert event_kind(event) == kind
    assert user_from_event(event, claims_to_custom=["tenant"]) == helper(event, claims_to_custom=["tenant"])


@pytest.mark.parametrize(
    ("event", "wrapper"),
    [
        (REST_COGNITO, APIGatewayProxyEvent),
        (HTTP_API_JWT, APIGatewayProxyEventV2),
        (ALB, ALBEvent),
        (FUNCTION_URL, LambdaFunctionUrlEvent),
        (FUNCTION_URL, APIGatewayProxyEventV2),
    ],
)
def test_wrapped_data_classes_give_the_same_user(
    event: dict[str, Any], wrapper: Callable[[dict[str, Any]], Mapping[str, Any]]
) -> None:
    assert user_from_event(wrapper(event)) == user_from_event(event)


def test_any_read_only_mapping_is_accepted() -> None:
    assert user_from_event(MappingProxyType(REST_COGNITO)) == user_from_event(REST_COGNITO)


def test_wrapped_event_of_another_shape_is_read_by_its_shape() -> None:
    assert user_from_event(APIGatewayProxyEvent(HTTP_API_JWT)).ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("call", "event", "message"),
    [
        (user_from_event, SCHEDULED_EVENT, "top-level keys [account, detail, detail-type, id, region, resources"),
        (user_from_event, SQS_EVENT, "user_from_sqs_record"),
        (user_from_event, {}, "an empty event"),
        (user_from_event, {"requestContext": {"http": "GET"}}, "top-level keys [requestContext]"),
        (user_from_api_gateway, ALB, "an ALB event"),
        (user_from_alb, HTTP_API_JWT, "an API Gateway HTTP API (payload 2.0) event"),
        (user_from_function_url, REST_COGNITO, "an API Gateway REST (payload 1.0) event"),
    ],
)
def test_unknown_or_wrong_event_shape_raises_statsig_value_error(
    call: Callable[..., StatsigUser], event: dict[str, Any], message: str
) -> None:
    with pytest.raises(StatsigValueError, match=r"expected .*, got ") as info:
        call(event)
    assert message in str(info.value)
    assert "jane.doe" not in str(info.value)  # values never end up in the message


def test_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="user_from_event"):
        user_from_event(SCHEDULED_EVENT)


def test_not_a_mapping_is_rejected() -> None:
    with pytest.raises(StatsigValueError, match="got list"):
        user_from_event(["not", "an", "event"])  # type: ignore[arg-type]


def test_claims_to_custom_as_one_string_is_rejected() -> None:
    with pytest.raises(StatsigValueError, match="claims_to_custom"):
        user_from_api_gateway(REST_COGNITO, claims_to_custom="email")


def test_empty_id_claim_is_rejected() -> None:
    with pytest.raises(StatsigValueError, match="id_claim"):
        user_from_event(REST_COGNITO, id_claim="")


# --- SQS records ---


def test_sqs_message_attribute_names_the_user_before_the_body() -> None:
    assert user_from_sqs_record(SQS_EVENT["Records"][0]) == StatsigUser(user_id="user-123")


def test_sqs_json_body_field_when_there_is_no_attribute() -> None:
    assert user_from_sqs_record(SQS_EVENT["Records"][1]) == StatsigUser(user_id="body-user-2")


def test_sqs_binary_attribute_and_text_body_name_no_user() -> None:
    assert user_from_sqs_record(SQS_EVENT["Records"][2]) is None


def test_sqs_other_attribute_name() -> None:
    record = SQS_EVENT["Records"][0]

    assert user_from_sqs_record(record, attribute="orderId") == StatsigUser(user_id="o-1")  # from the body
    assert user_from_sqs_record(record, attribute="accountID") is None


def test_sqs_number_attribute_and_integer_body_field() -> None:
    record = fresh(SQS_EVENT["Records"][1])
    record["body"] = '{"userID": 901}'
    assert user_from_sqs_record(record) == StatsigUser(user_id="901")

    record["messageAttributes"]["userID"] = {
        "stringValue": "77",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }
    assert user_from_sqs_record(record) == StatsigUser(user_id="77")


@pytest.mark.parametrize("body", ["{not json", '{"userID": ""}', '{"userID": true}', '{"userID": null}', "[1, 2]", ""])
def test_sqs_body_without_a_usable_user_id(body: str) -> None:
    record = fresh(SQS_EVENT["Records"][1])
    record["body"] = body

    assert user_from_sqs_record(record) is None


def test_sqs_records_from_the_powertools_event() -> None:
    users = [user_from_sqs_record(record) for record in SQSEvent(SQS_EVENT).records]

    assert [u.user_id if u else None for u in users] == ["user-123", "body-user-2", None]


def test_sqs_record_without_message_attributes_key() -> None:
    record = fresh(SQS_EVENT["Records"][1])
    del record["messageAttributes"]

    assert user_from_sqs_record(record) == StatsigUser(user_id="body-user-2")


def test_whole_sqs_event_is_not_a_record() -> None:
    with pytest.raises(StatsigValueError, match="user_from_sqs_record: expected one SQS record, got a batch"):
        user_from_sqs_record(SQS_EVENT)


# --- Kinesis records ---


def test_kinesis_json_payload_field() -> None:
    records = KINESIS_EVENT["Records"]

    assert user_from_kinesis_record(records[0]) == StatsigUser(user_id="user-8812")
    assert user_from_kinesis_record(records[1]) == StatsigUser(user_id="4711")


def test_kinesis_text_payload_names_no_user() -> None:
    assert user_from_kinesis_record(KINESIS_EVENT["Records"][2]) is None


@pytest.mark.parametrize(
    "data",
    [
        "eyJldmVudCI6ICJoZWFydGJlYXQifQ==",  # {"event": "heartbeat"}
        "WyJ1c2VyLTEiXQ==",  # ["user-1"]
        "not base64!",
        "//79/A==",  # not UTF-8
        "",
    ],
)
def test_kinesis_payload_without_a_user_id(data: str) -> None:
    record = fresh(KINESIS_EVENT["Records"][0])
    record["kinesis"]["data"] = data

    assert user_from_kinesis_record(record) is None


def test_kinesis_other_field() -> None:
    assert user_from_kinesis_record(KINESIS_EVENT["Records"][0], field="event") == StatsigUser(
        user_id="checkout_completed"
    )


def test_kinesis_records_from_the_powertools_event() -> None:
    users = [user_from_kinesis_record(record) for record in KinesisStreamEvent(KINESIS_EVENT).records]

    assert [u.user_id if u else None for u in users] == ["user-8812", "4711", None]


@pytest.mark.parametrize("record", [KINESIS_EVENT, SQS_EVENT["Records"][0], {"kinesis": {"data": None}}])
def test_kinesis_helper_rejects_what_is_not_a_kinesis_record(record: dict[str, Any]) -> None:
    with pytest.raises(StatsigValueError, match="expected one Kinesis record"):
        user_from_kinesis_record(record)


# --- cold start ---


def test_importing_the_module_does_not_import_powertools() -> None:
    code = (
        "import sys, statsig_lite, statsig_lite.users_from_events\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('aws_lambda_powertools'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
