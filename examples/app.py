"""Example Lambda function on statsig_lite, deployed by ../template.yaml.

statsig_lite comes from the statsig_lite layer and Powertools from AWS's managed Powertools layer; this
folder holds only the function's own code. The environment tells `@statsig_handler` where the rules are
(STATSIG_SPEC_SOURCE, e.g. ``s3://bucket/key,bundled``), where to keep events that could not be sent
(STATSIG_SPILL_TARGET) and which SSM parameter holds the server secret (STATSIG_SECRET_NAME).

    aws lambda invoke --function-name <ExampleFunctionName> --cli-binary-format raw-in-base64-out \
        --payload '{"user": "u1"}' out.json

`http_handler` does the same for an API Gateway, ALB or function URL request, taking the user (ID from the
authorizer's claims, IP, user agent, country, locale) from the request with `users_from_events`.
"""

import json

from statsig_lite import StatsigUser, statsig, statsig_handler
from statsig_lite.users_from_events import user_from_event


@statsig_handler
def handler(event, context):
    return {"on": statsig.check_gate(StatsigUser(user_id=event["user"]), "new_checkout")}


@statsig_handler
def http_handler(event, context):
    on = statsig.check_gate(user_from_event(event), "new_checkout")
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"on": on})}
