"""Build a `StatsigUser` from the Lambda event a handler was invoked with.

Request events (one user per invocation):

- `user_from_api_gateway`: API Gateway REST APIs and HTTP APIs with payload format 1.0 (`requestContext.identity`)
  and HTTP APIs with payload format 2.0 (`requestContext.http`).
- `user_from_alb`: Application Load Balancer targets (`requestContext.elb`).
- `user_from_function_url`: Lambda function URLs (payload format 2.0, like HTTP APIs).
- `user_from_event`: recognises which of the three it was given.

They fill `ip`, `user_agent` (User-Agent header), `locale` (first language of Accept-Language) and `country`
(CloudFront-Viewer-Country), and read the authorizer's identity when there is one: Cognito user pool claims
(REST), JWT authorizer claims (HTTP API) or a Lambda authorizer's context. `user_id` comes from the `id_claim`
claim and `email` from the `email` claim. No other claim is copied unless named in `claims_to_custom`.

Batch records (one user per record, `None` when the record names none): `user_from_sqs_record` and
`user_from_kinesis_record`.

Every helper takes the raw event dict or an already wrapped Powertools data class. Powertools is imported on
the first call, never when this module is imported (cold start). An event of the wrong shape raises
`StatsigValueError`; a missing header or claim only leaves its field `None`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

from .errors import StatsigValueError
from .user import StatsigUser

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.alb_event import ALBEvent
    from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import (
        APIGatewayEventAuthorizer,
        APIGatewayProxyEvent,
        APIGatewayProxyEventV2,
    )
    from aws_lambda_powertools.utilities.data_classes.common import DictWrapper

__all__ = [
    "EventKind",
    "event_kind",
    "user_from_alb",
    "user_from_api_gateway",
    "user_from_event",
    "user_from_function_url",
    "user_from_kinesis_record",
    "user_from_sqs_record",
]

EventKind = Literal["rest", "http", "function_url", "alb"]
"""`rest`: payload format 1.0 (REST API, or HTTP API set to 1.0); `http`: HTTP API payload format 2.0."""

_W = TypeVar("_W", bound="DictWrapper")
_P = ParamSpec("_P")
_R = TypeVar("_R")

_STABLE_ID_TYPE = "stableID"
# Keys API Gateway itself puts next to a REST Lambda authorizer's context; they are not claims.
_AUTHORIZER_KEYS = frozenset({"principalId", "integrationLatency", "claims", "scopes"})
_KIND_NAMES: Mapping[EventKind, str] = {
    "rest": "an API Gateway REST (payload 1.0) event",
    "http": "an API Gateway HTTP API (payload 2.0) event",
    "function_url": "a Lambda function URL event",
    "alb": "an ALB event",
}


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What the caller asked for, checked once."""

    user_id: str | None
    id_claim: str
    claims_to_custom: tuple[str, ...]
    stable_id_header: str | None
    custom_ids: Mapping[str, str] | None
    custom: Mapping[str, object] | None


@dataclass(frozen=True, slots=True)
class _Request:
    """What one request event says about its caller."""

    headers: Callable[[str], str | None]
    ip: str | None
    context_user_agent: str | None = None
    claims: Mapping[str, object] | None = None
    principal: str | None = None


def _only_value_errors(helper: Callable[_P, _R]) -> Callable[_P, _R]:
    """The documented contract: bad input raises `StatsigValueError`, whatever the event holds (a Mapping
    whose methods raise, a claim whose __str__ raises, a shape Powertools' data classes cannot read)."""

    @functools.wraps(helper)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return helper(*args, **kwargs)
        except StatsigValueError:
            raise
        except Exception as exc:
            raise StatsigValueError(f"{helper.__name__}: the event cannot be read ({type(exc).__name__})") from exc

    return guarded


@_only_value_errors
def event_kind(event: Mapping[str, object]) -> EventKind | None:
    """Which request event this is, from its `requestContext`; `None` for anything else."""
    raw = _raw(event)
    context = raw.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    if isinstance(context.get("elb"), Mapping):
        return "alb"
    if isinstance(context.get("http"), Mapping):
        domain = context.get("domainName")
        # Function URLs answer on <url-id>.lambda-url.<region>.on.aws; the payload is otherwise HTTP API 2.0.
        return "function_url" if isinstance(domain, str) and ".lambda-url." in domain else "http"
    if isinstance(context.get("identity"), Mapping):
        return "rest"
    return None


@_only_value_errors
def user_from_api_gateway(
    event: Mapping[str, object],
    *,
    user_id: str | None = None,
    id_claim: str = "sub",
    claims_to_custom: Iterable[str] = (),
    stable_id_header: str | None = None,
    custom_ids: Mapping[str, str] | None = None,
    custom: Mapping[str, object] | None = None,
) -> StatsigUser:
    """The caller of an API Gateway REST or HTTP API request (function URL events, also payload 2.0, too).

    `user_id` wins over the authorizer's `id_claim`. Claims named in `claims_to_custom` go to `custom`
    (then `custom` is laid over them). With no user ID at all, the `stable_id_header` header (if named and
    present) becomes `custom_ids["stableID"]`, unless `custom_ids` already has one.
    """
    wanted = _wanted(user_id, id_claim, claims_to_custom, stable_id_header, custom_ids, custom)
    kind, raw = _expect(event, ("rest", "http", "function_url"), "user_from_api_gateway", "an API Gateway event")
    request = _rest_request(event, raw) if kind == "rest" else _v2_request(event, raw)
    return _build(request, wanted)


@_only_value_errors
def user_from_alb(
    event: Mapping[str, object],
    *,
    user_id: str | None = None,
    id_claim: str = "sub",
    claims_to_custom: Iterable[str] = (),
    stable_id_header: str | None = None,
    custom_ids: Mapping[str, str] | None = None,
    custom: Mapping[str, object] | None = None,
) -> StatsigUser:
    """The caller of an ALB request; `ip` is the first hop of X-Forwarded-For.

    ALB passes no authorizer claims to Lambda, so `id_claim` and `claims_to_custom` find nothing; they are
    accepted so that every request helper takes the same arguments.
    """
    wanted = _wanted(user_id, id_claim, claims_to_custom, stable_id_header, custom_ids, custom)
    _, raw = _expect(event, ("alb",), "user_from_alb", "an ALB event (requestContext.elb)")
    return _build(_alb_request(event, raw), wanted)


@_only_value_errors
def user_from_function_url(
    event: Mapping[str, object],
    *,
    user_id: str | None = None,
    id_claim: str = "sub",
    claims_to_custom: Iterable[str] = (),
    stable_id_header: str | None = None,
    custom_ids: Mapping[str, str] | None = None,
    custom: Mapping[str, object] | None = None,
) -> StatsigUser:
    """The caller of a Lambda function URL request (payload format 2.0, so HTTP API events work too).

    Function URLs have no JWT or Lambda authorizers (auth is NONE or AWS_IAM), so with a real function URL
    event `id_claim` and `claims_to_custom` find nothing; pass `user_id=` from your own authentication.
    """
    wanted = _wanted(user_id, id_claim, claims_to_custom, stable_id_header, custom_ids, custom)
    _, raw = _expect(event, ("function_url", "http"), "user_from_function_url", "a function URL event")
    return _build(_v2_request(event, raw), wanted)


@_only_value_errors
def user_from_event(
    event: Mapping[str, object],
    *,
    user_id: str | None = None,
    id_claim: str = "sub",
    claims_to_custom: Iterable[str] = (),
    stable_id_header: str | None = None,
    custom_ids: Mapping[str, str] | None = None,
    custom: Mapping[str, object] | None = None,
) -> StatsigUser:
    """The caller of any API Gateway, ALB or function URL request; raises `StatsigValueError` for other events."""
    wanted = _wanted(user_id, id_claim, claims_to_custom, stable_id_header, custom_ids, custom)
    kind, raw = _expect(event, ("rest", "http", "function_url", "alb"), "user_from_event", "an HTTP request event")
    if kind == "alb":
        request = _alb_request(event, raw)
    elif kind == "rest":
        request = _rest_request(event, raw)
    else:
        request = _v2_request(event, raw)
    return _build(request, wanted)


@_only_value_errors
def user_from_sqs_record(record: Mapping[str, object], *, attribute: str = "userID") -> StatsigUser | None:
    """The user an SQS message names: the `attribute` message attribute (String or Number), else the
    `attribute` field of a JSON object body. `None` when the message names no user."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    raw = _raw(record)
    if "body" not in raw:
        raise StatsigValueError(f"user_from_sqs_record: expected one SQS record, got {_describe(raw)}")
    message = _wrap(record, raw, SQSRecord)
    if isinstance(raw.get("messageAttributes"), Mapping):
        value = message.message_attributes[attribute]  # None when absent (Powertools' __getitem__)
        if value is not None and isinstance(value.get("stringValue"), str):  # Binary attributes have none
            found = _id_text(value.string_value)
            if found is not None:
                return StatsigUser(user_id=found)
    body = message.body
    if not isinstance(body, str) or not body.lstrip().startswith("{"):
        return None
    try:
        payload = message.json_body
    except ValueError:  # not JSON after all
        return None
    found = _id_text(payload.get(attribute)) if isinstance(payload, Mapping) else None
    return None if found is None else StatsigUser(user_id=found)


@_only_value_errors
def user_from_kinesis_record(record: Mapping[str, object], *, field: str = "userID") -> StatsigUser | None:
    """The user a Kinesis record names: the `field` field of its (base64) JSON object payload. `None` when the
    payload is not a JSON object or has no such field."""
    from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

    raw = _raw(record)
    payload = raw.get("kinesis")
    if not isinstance(payload, Mapping) or not isinstance(payload.get("data"), str):
        raise StatsigValueError(f"user_from_kinesis_record: expected one Kinesis record, got {_describe(raw)}")
    try:
        data: object = _wrap(record, raw, KinesisStreamRecord).kinesis.data_as_json()
    except ValueError:  # bad base64, not UTF-8 or not JSON: all ValueError subclasses
        return None
    found = _id_text(data.get(field)) if isinstance(data, Mapping) else None
    return None if found is None else StatsigUser(user_id=found)


# --- reading each event shape through its Powertools data class ---


def _rest_request(event: Mapping[str, object], raw: dict[str, object]) -> _Request:
    from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent

    request: APIGatewayProxyEvent = _wrap(event, raw, APIGatewayProxyEvent)
    context = request.request_context
    identity = context.identity
    claims, principal = _v1_authorizer(context.authorizer)
    return _Request(
        headers=_header_reader(request.headers, request.multi_value_headers),
        ip=_text(identity.source_ip) if "sourceIp" in identity else None,
        context_user_agent=_text(identity.user_agent),
        claims=claims,
        principal=principal,
    )


def _v1_authorizer(authorizer: APIGatewayEventAuthorizer) -> tuple[Mapping[str, object] | None, str | None]:
    """Claims from a Cognito user pool authorizer, an HTTP API 1.0 JWT authorizer or a Lambda authorizer."""
    if not authorizer:
        return None, None
    if authorizer.claims:
        return authorizer.claims, None
    jwt = authorizer.get("jwt")
    if isinstance(jwt, Mapping) and isinstance(jwt.get("claims"), Mapping):
        return jwt["claims"], None
    context = authorizer.get_context()
    nested = context.get("lambda")  # HTTP API Lambda authorizer with payload format 1.0
    if isinstance(nested, Mapping):
        return nested, None
    # REST Lambda authorizer: its context sits flat beside principalId.
    return {k: v for k, v in context.items() if k not in _AUTHORIZER_KEYS}, _text(authorizer.principal_id)


def _v2_request(event: Mapping[str, object], raw: dict[str, object]) -> _Request:
    from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEventV2

    request: APIGatewayProxyEventV2 = _wrap(event, raw, APIGatewayProxyEventV2)
    context = request.request_context
    http = context.http
    authorizer = context.authorizer
    claims = authorizer.jwt_claim or authorizer.get_lambda or None
    return _Request(
        headers=_header_reader(request.headers, None),
        ip=_text(http.source_ip) if "sourceIp" in http else None,
        context_user_agent=_text(http.user_agent) if "userAgent" in http else None,
        claims=claims,
    )


def _alb_request(event: Mapping[str, object], raw: dict[str, object]) -> _Request:
    from aws_lambda_powertools.utilities.data_classes.alb_event import ALBEvent

    request: ALBEvent = _wrap(event, raw, ALBEvent)
    headers = _header_reader(request.headers, request.multi_value_headers)
    forwarded = headers("X-Forwarded-For")
    return _Request(headers=headers, ip=_text(forwarded.split(",")[0]) if forwarded else None)


def _header_reader(single: Mapping[str, object], multi: Mapping[str, object] | None) -> Callable[[str], str | None]:
    """First value of a header, case-insensitively. ALB with multi-value headers on sends only
    `multiValueHeaders`; REST sends both (and `headers` may be null)."""

    def first(name: str) -> str | None:
        value = single.get(name)  # Powertools' CaseInsensitiveDict lowers `name`
        if value is None and multi is not None:
            values = multi.get(name)
            value = values[0] if isinstance(values, list) and values else None
        return _text(value)

    return first


# --- building the user ---


def _build(request: _Request, wanted: _Wanted) -> StatsigUser:
    claims = request.claims or {}
    user_id = wanted.user_id
    if user_id is None:
        user_id = _id_text(claims.get(wanted.id_claim)) or request.principal
    custom: dict[str, object] = {name: claims[name] for name in wanted.claims_to_custom if name in claims}
    custom.update(wanted.custom or {})
    custom_ids = dict(wanted.custom_ids or {})
    if user_id is None and wanted.stable_id_header and _STABLE_ID_TYPE not in custom_ids:
        stable_id = request.headers(wanted.stable_id_header)
        if stable_id is not None:
            custom_ids[_STABLE_ID_TYPE] = stable_id
    return StatsigUser(
        user_id=user_id,
        email=_text(claims.get("email")),
        ip=request.ip,
        user_agent=request.headers("User-Agent") or request.context_user_agent,
        country=request.headers("CloudFront-Viewer-Country"),
        locale=_first_language(request.headers("Accept-Language")),
        custom=custom or None,
        custom_ids=custom_ids or None,
    )


def _wanted(
    user_id: str | None,
    id_claim: str,
    claims_to_custom: Iterable[str],
    stable_id_header: str | None,
    custom_ids: Mapping[str, str] | None,
    custom: Mapping[str, object] | None,
) -> _Wanted:
    if not isinstance(id_claim, str) or not id_claim:
        raise StatsigValueError("id_claim must be a non-empty claim name")
    if isinstance(claims_to_custom, str):  # iterating "email" would copy the claims "e", "m", ...
        raise StatsigValueError("claims_to_custom must be a collection of claim names, not one string")
    names = tuple(claims_to_custom)
    if not all(isinstance(name, str) for name in names):
        raise StatsigValueError("claims_to_custom must hold claim names (str)")
    if custom is not None and not isinstance(custom, Mapping):
        raise StatsigValueError("custom must be a mapping")
    if custom_ids is not None and not isinstance(custom_ids, Mapping):
        raise StatsigValueError("custom_ids must be a mapping of ID type to ID")
    return _Wanted(user_id, id_claim, names, stable_id_header, custom_ids, custom)


def _first_language(accept_language: str | None) -> str | None:
    """`de-CH` from `de-CH,de;q=0.9,en;q=0.8`; the wildcard `*` is no language."""
    if accept_language is None:
        return None
    tag = _text(accept_language.split(",")[0].split(";")[0])
    return None if tag == "*" else tag


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _id_text(value: object) -> str | None:
    """An ID from a claim or payload field: a non-empty string or an integer (not a bool)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


# --- event plumbing ---


def _raw(event: object) -> dict[str, object]:
    """The event as the dict Lambda passed in, whether or not it was wrapped in a data class."""
    from aws_lambda_powertools.utilities.data_classes.common import DictWrapper

    if isinstance(event, DictWrapper):
        return event.raw_event
    if isinstance(event, dict):
        return event
    if isinstance(event, Mapping):
        return dict(event)
    raise StatsigValueError(f"expected a Lambda event (a dict or a Powertools data class), got {type(event).__name__}")


def _wrap(event: object, raw: dict[str, object], cls: type[_W]) -> _W:
    """The caller's data class instance when it already is one (it keeps its json_deserializer), else a new one."""
    return event if isinstance(event, cls) else cls(raw)


def _expect(
    event: Mapping[str, object], kinds: tuple[EventKind, ...], helper: str, wanted: str
) -> tuple[EventKind, dict[str, object]]:
    raw = _raw(event)
    kind = event_kind(raw)
    if kind is None or kind not in kinds:
        raise StatsigValueError(f"{helper}: expected {wanted}, got {_describe(raw)}")
    return kind, raw


def _describe(raw: Mapping[str, object]) -> str:
    """A short description of an event for error messages; never its values (they may be personal data)."""
    kind = event_kind(raw)
    if kind is not None:
        return _KIND_NAMES[kind]
    if isinstance(raw.get("Records"), list):
        return "a batch event with Records (pass each record to user_from_sqs_record or user_from_kinesis_record)"
    keys = sorted(str(key) for key in raw)
    shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    return f"an event with top-level keys [{shown}]" if keys else "an empty event"
