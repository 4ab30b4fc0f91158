"""Wire-format events for the pipeline tests: exposures and custom events, as plain dicts.

Every event carries a unique ``seq`` (in ``metadata``) so a test can tell which events arrived and how often.
"""

from __future__ import annotations

import random
from typing import Any

_GATE_EXPOSURE = "statsig::gate_exposure"
_CONFIG_EXPOSURE = "statsig::config_exposure"
_LAYER_EXPOSURE = "statsig::layer_exposure"


def _user(rng: random.Random, i: int) -> dict[str, Any]:
    user: dict[str, Any] = {"userID": f"user-{i % 97}", "statsigEnvironment": {"tier": "staging"}}
    if i % 3 == 0:
        user["email"] = f"u{i}@example.com"
    if i % 5 == 0:
        user["customIDs"] = {"companyID": f"acme-{i % 7}", "stableID": f"{rng.getrandbits(64):016x}"}
    if i % 11 == 0:
        user["custom"] = {"plan": "pro", "seats": i % 13, "beta": True, "name": "Zoë 🚀"}
    return user


def make_event(rng: random.Random, seq: int, base_ms: int = 1_795_551_159_057) -> dict[str, Any]:
    """One event, exposure-shaped or custom depending on ``seq``."""
    kind = seq % 4
    time_ms = base_ms + seq
    details = {"reason": "Network:Recognized", "lcut": "1700000000000", "receivedAt": str(base_ms - 3)}
    if kind == 0:
        return {
            "eventName": _GATE_EXPOSURE,
            "user": _user(rng, seq),
            "time": time_ms,
            "metadata": {
                "gate": f"gate_{seq % 17}",
                "gateValue": "true" if seq % 2 else "false",
                "ruleID": f"rule_{seq % 5}",
                "seq": str(seq),
                **details,
            },
            "secondaryExposures": [{"gate": "example_gate", "gateValue": "false", "ruleID": "rule_1"}],
            "statsigMetadata": {},
        }
    if kind == 1:
        return {
            "eventName": _CONFIG_EXPOSURE,
            "user": _user(rng, seq),
            "time": time_ms,
            "metadata": {
                "config": f"exp_{seq % 9}",
                "ruleID": "layerAssignment",
                "rulePassed": "false",
                "seq": str(seq),
                **details,
            },
            "secondaryExposures": [],
            "statsigMetadata": {},
        }
    if kind == 2:
        return {
            "eventName": _LAYER_EXPOSURE,
            "user": _user(rng, seq),
            "time": time_ms,
            "metadata": {
                "config": "layer_a",
                "ruleID": "default",
                "allocatedExperiment": "",
                "parameterName": f"p{seq % 3}",
                "isExplicitParameter": "false",
                "seq": str(seq),
                **details,
            },
            "secondaryExposures": [],
            "statsigMetadata": {},
        }
    value: Any = [round(rng.uniform(0, 500), 2), f"sku-{seq % 23}", seq, None][seq % 16 // 4]
    event: dict[str, Any] = {
        "eventName": f"purchase_{seq % 6}",
        "user": _user(rng, seq),
        "time": time_ms,
        "metadata": {"sku": f"sku-{seq % 23}", "seq": str(seq), "note": 'naïve "quoted" \\ text'},
    }
    if value is not None:
        event["value"] = value
    return event


def make_events(count: int, *, seed: int = 7, start: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_event(rng, seq) for seq in range(start, start + count)]


def seq_of(event: dict[str, Any]) -> int:
    return int(event["metadata"]["seq"])


def make_record(count: int, *, batch_size: int = 100, created_at_ms: int = 1_700_000_000_000, start: int = 0) -> Any:
    """A SpillRecord holding ``count`` events in batches of ``batch_size``."""
    from statsig_lite.buffer import cut_batches, encode_event, encode_json
    from statsig_lite.sinks import SpillRecord

    meta = encode_json(
        {"sdkType": "statsig-lite-python", "sdkVersion": "0", "languageVersion": "3", "sessionID": "session-1"}
    )
    encoded = [encode_event(e) for e in make_events(count, start=start)]
    batches = cut_batches(encoded, meta, created_at_ms, max_events=batch_size, max_body_bytes=10**9)
    return SpillRecord.new(batches, meta, created_at_ms)


def record_events(record: Any) -> list[dict[str, Any]]:
    import json

    return [json.loads(e) for b in record.batches for e in b.events]


def accepted_by_batch_id(api: Any) -> dict[str, list[dict[str, Any]]]:
    """Events Statsig accepted, per STATSIG-BATCH-ID (a ``FakeStatsigAPI``'s accepted log_event requests).

    Asserts that every request sent under one batch id carried the same events: a resend is a true resend.
    """
    by_id: dict[str, list[dict[str, Any]]] = {}
    for request in api.accepted_log_event_requests():
        batch_id = request.header("statsig-batch-id")
        assert batch_id, "log_event request without STATSIG-BATCH-ID"
        events = request.json["events"]
        assert by_id.setdefault(batch_id, events) == events, f"batch {batch_id} resent with other events"
    return by_id
