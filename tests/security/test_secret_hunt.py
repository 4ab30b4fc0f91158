"""Secret hunt: a sentinel server secret and a sentinel private attribute never leave where they belong.

Every log record (root logger at DEBUG: ours, urllib3's, botocore's, Powertools'), every repr, every stored
object (spill records) and every request that reaches a second loopback server (the target of a redirecting
one) is searched for both sentinels. Statsig requests go to a server that answers every request with a
redirect to the second one: a request that carries the key must not follow it.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statsig_lite import StatsigEvent, StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.errors import SpecError, StatsigLiteError
from tests.servers import LoopbackHTTPServer, LoopbackRequestHandler
from tests.servers.statsig_api import FakeStatsigAPI

SECRET = "secret-SENTINEL" + uuid.uuid4().hex  # what must stay home
PRIVATE = "private-SENTINEL" + uuid.uuid4().hex  # a private attribute: evaluation only
SENTINELS = (SECRET, PRIVATE)

_GATE = {"name": "g0", "type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False, "idType": "userID",
         "entity": "feature_gate", "rules": [{
             "name": "r", "id": "r", "salt": "r", "passPercentage": 100, "returnValue": True, "idType": "userID",
             "conditions": [{"type": "user_field", "operator": "any", "field": "plan", "targetValue": [PRIVATE]}]}]}
_CONFIG = {"name": "c0", "type": "dynamic_config", "salt": "s", "enabled": True, "defaultValue": {"a": 1},
           "idType": "userID", "entity": "dynamic_config", "rules": []}
PAYLOAD = {"time": 1_700_000_000_000, "feature_gates": [_GATE], "dynamic_configs": [_CONFIG], "layer_configs": [],
           "has_updates": True}


class _Recording(LoopbackRequestHandler):
    """Records every request; the redirecting variant answers each with a redirect to `target`."""

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: Any = self.server
        with server.lock:
            server.seen.append(f"{self.command} {self.path}\n{self.headers}\n".encode() + body)
        if server.target:
            code = 307 if self.command == "POST" else 302
            self.send_response(code)
            self.send_header("Location", server.target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _any


@pytest.fixture
def second_host() -> Iterator[Any]:
    server: Any = LoopbackHTTPServer(_Recording, "second-host")
    server.lock, server.seen, server.target = threading.Lock(), [], ""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redirector(second_host: Any) -> Iterator[Any]:
    server: Any = LoopbackHTTPServer(_Recording, "redirector")
    server.lock, server.seen, server.target = threading.Lock(), [], second_host.base
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record) + " " + repr(record.__dict__.get("extra", "")))


@pytest.fixture
def every_log_record() -> Iterator[_Capture]:
    root = logging.getLogger()
    handler = _Capture()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("urllib3", "botocore", "boto3", "statsig_lite", "aws_lambda_powertools"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name in ("urllib3", "botocore", "boto3", "statsig_lite", "aws_lambda_powertools"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def _hunt(where: str, texts: list[str]) -> None:
    for text in texts:
        for sentinel in SENTINELS:
            assert sentinel not in text, f"{where} carries a sentinel: {text[:300]!r}"


def _user() -> StatsigUser:
    return StatsigUser(user_id="u1", email="a@b.c", custom={"x": 1}, private_attributes={"plan": PRIVATE})


def test_the_secret_never_follows_a_redirect_nor_reaches_a_log_or_a_store(
    redirector: Any, second_host: Any, statsig_api: FakeStatsigAPI, every_log_record: _Capture, tmp_path: Path
) -> None:
    from statsig_lite.refresher.fetch import StatsigFetcher
    from statsig_lite.sources.http import HttpSource
    from statsig_lite.sources.id_lists import fetch_id_lists

    bad_base = redirector.base + "/v1/"
    reprs: list[str] = []
    errors: list[str] = []

    # the spec source, the ID lists and the refresher's fetcher, each answered with a redirect
    source = HttpSource(bad_base, SECRET)
    reprs.append(repr(source))
    for call in (lambda: source.fetch(2.0), lambda: fetch_id_lists(bad_base, SECRET, {}, timeout_s=2.0)):
        with pytest.raises(SpecError) as caught:
            call()
        errors.append(str(caught.value))
    fetcher = StatsigFetcher(SECRET, dcs_base=bad_base, id_lists_base=bad_base)
    with pytest.raises(SpecError) as caught:
        fetcher.dcs(None, 2.0)
    errors.append(str(caught.value))
    with pytest.raises(SpecError) as caught:
        fetcher.id_lists({}, 2.0)
    errors.append(str(caught.value))

    # a closed port: urllib3's connection errors quote the URL
    closed = LoopbackHTTPServer(_Recording, "closed")
    closed_base = closed.base + "/v2/"
    closed.server_close()
    with pytest.raises(SpecError) as caught:
        HttpSource(closed_base, SECRET).fetch(1.0)
    errors.append(str(caught.value))

    # a successful download from the fake API: urllib3 logs the request path, which holds the key
    statsig_api.set_specs(PAYLOAD, version="v2")
    fetched = HttpSource(statsig_api.url.replace("/v1/", "/v2/"), SECRET).fetch(5.0)
    assert json.loads(fetched.payload)["time"] == PAYLOAD["time"]

    # the client: rules from the fake API, events to the redirector (never delivered), spilled to a directory
    spill = tmp_path / "spill"
    server = StatsigServer()
    details = server.initialize(SECRET, StatsigOptions(
        spec_source=statsig_api.url.replace("/v1/", "/v2/"), api_for_log_event=bad_base,
        spill_target=spill.as_uri(), timeout=2.0))
    reprs += [repr(server), repr(details), repr(server.options)]
    user = _user()
    assert server.check_gate(user, "g0") is True  # the private attribute is used for evaluation...
    reprs += [repr(user), repr(server.get_feature_gate(user, "g0")), repr(server.get_config(user, "c0")),
              repr(server.get_layer(user, "missing")), str(user), repr(user.to_dict())]
    server.log_event(StatsigEvent(user, "purchase", value=1, metadata={"k": "v"}))
    reprs.append(repr(StatsigEvent(user, "purchase")))
    result = server.flush(3.0)
    reprs.append(repr(result))
    server.shutdown(3.0)

    assert second_host.seen == []  # nothing followed a redirect
    assert redirector.seen, "the redirector was asked (the test reached the network)"
    stored = [gzip.decompress(p.read_bytes()).decode() if p.suffix == ".gz" else p.read_text()
              for p in spill.rglob("*") if p.is_file()]
    assert stored, "undelivered events were spilled (the test reached the store)"
    _hunt("a stored spill record", stored)
    _hunt("a repr", reprs)
    _hunt("an error message", errors)
    _hunt("a request to the fake API", [r.body.decode("latin-1") for r in statsig_api.requests
                                        if r.body])  # private attributes only
    _hunt("a request to the second host", [b.decode("latin-1") for b in second_host.seen])
    assert any(SECRET not in t and "download_config_specs" in t for t in every_log_record.texts), (
        "urllib3's DEBUG request lines were captured (and redacted)")
    _hunt("a log record", every_log_record.texts)


def test_a_secret_read_from_ssm_never_reaches_botocore_debug_logs(
    ssm_client: Any, aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch, every_log_record: _Capture
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from statsig_lite.lambda_handler import resolve_secret
    from tests.refresher.aws_env import use_moto

    use_moto(monkeypatch, aws_endpoint_url)
    name = f"/statsig/hunt/{uuid.uuid4().hex}"
    ssm_client.put_parameter(Name=name, Value=SECRET, Type="SecureString")
    every_log_record.texts.clear()  # the test's own put_parameter logged the value: botocore's doing, not ours
    parameters.clear_caches()
    try:
        assert resolve_secret({"STATSIG_SECRET_NAME": name}) == SECRET
        logging.getLogger("botocore.hunt").debug("after the fetch: %s", SECRET)  # a logger made later
        logging.getLogger("urllib3.connectionpool").debug("GET /v1/download_config_specs/%s.json", SECRET)
        assert resolve_secret({"STATSIG_SECRET_NAME": name}) == SECRET  # cached: no AWS call
        logging.getLogger("botocore.parsers").debug("Response body: %r", {"Value": SECRET})
    finally:
        parameters.clear_caches()
    assert any("after the fetch: ***" in t for t in every_log_record.texts)  # records are kept, only redacted
    assert any("Response body: {'Value': '***'}" in t for t in every_log_record.texts)
    _hunt("a log record", every_log_record.texts)


def test_reprs_of_users_and_results_redact_private_attributes() -> None:
    user = _user()
    server = StatsigServer(clock=lambda: 1_700_000_000.0)
    server.initialize(SECRET, StatsigOptions(bootstrap_values=json.dumps(PAYLOAD), local_mode=True))
    config = server.get_config(user, "c0")
    assert config.user is user
    texts = [repr(user), str(user), repr(config), repr(server.get_feature_gate(user, "g0")), repr([user])]
    _hunt("a repr", texts)
    assert "private_attributes=<redacted>" in repr(user)
    assert "plan" not in repr(user)  # not even the keys
    assert user.private_attributes == {"plan": PRIVATE}  # only the repr hides them
    with pytest.raises(StatsigLiteError):
        raise StatsigLiteError(repr(user))  # an exception message built from a user carries no sentinel
