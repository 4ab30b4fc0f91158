r"""A seeded generator of random payloads, users and calls for the differential test.

Everything comes from one `random.Random(seed)`: the same seed gives the same payload (v1 shape; the v2 one
is derived from it), the same users and the same calls. Specs use every condition type and operator with
targets picked to hit the edges (empty strings, numbers as text, arrays, dates, versions), nested gates
(acyclic: a gate only references gates made before it, or a name that does not exist), segments, holdouts,
experiments in layers and sampling; users carry empty strings, wrong types, unicode, huge numbers, IPs and
user agents, arrays.

Kept out on purpose (documented divergences, README): sampling rates above 1 (core's sampling hash is not
reproduced), gate cycles (core empties GCIR at its depth limit), specs without `entity` (the legacy SDK's
GCIR is None), CMAB exploration (random in core), Rust regex syntax `re` cannot express (`\p{..}`, class set
operations).
"""

from __future__ import annotations

import random
from typing import Any

from .specs import TIME, cond, config, gate, payload, rule

FIELDS = ["email", "country", "locale", "appVersion", "userID", "ip", "userAgent", "age", "tier", "tags", "flag",
          "when", "ver", "name", "Email", "APPVERSION", "missing"]
NUMBER_OPS = ["gt", "gte", "lt", "lte"]
VERSION_OPS = ["version_gt", "version_gte", "version_lt", "version_lte", "version_eq", "version_neq"]
MEMBER_OPS = ["any", "none", "any_case_sensitive", "none_case_sensitive"]
STRING_OPS = ["str_starts_with_any", "str_ends_with_any", "str_contains_any", "str_contains_none"]
TIME_OPS = ["before", "after", "on"]
ARRAY_OPS = ["array_contains_any", "array_contains_none", "array_contains_all", "not_array_contains_all"]
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile "
    "Safari/537.36",
    "curl/8.4.0", "", "garbage ua ☃",
]
IPS = ["8.8.8.8", "1.2.3.4", "81.2.69.160", "2.2.2.2", "", "1.1.1.", "a.b.c.d", "1.1.1.1x", "::1", " 8.8.8.8",
       "300.1.1.1", "10.0.0.1"]
STRINGS = ["", "US", "us", "CA", "US\n", "uS", "11", "en-US", "a@b.com", "A@B.COM", "ünïcödé", "日本", "1", "2.0",
           "1.2.3", "0.5", "1.a", "1.2.3+build", "1.2.3-beta", "true", "null", "2023-01-01T00:00:00Z",
           "2023-01-02 00:00:00", "1700000000000", "1800000000", "[\"US\"]"]
NUMBERS = [0, 1, 2, -1, 2.0, 2.5, 1e21, 12345678901234567890, 1_700_000_000_000, 1_700_000_000_000.5,
           1_800_000_000, 10**30]


def _value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(STRINGS)
    if roll < 0.75:
        return rng.choice(NUMBERS)
    if roll < 0.82:
        return rng.choice([True, False])
    if roll < 0.92:
        return [rng.choice(STRINGS + NUMBERS) for _ in range(rng.randint(0, 3))]
    if roll < 0.96:
        return None
    return {"k": rng.choice(STRINGS)}


def _target(rng: random.Random, op: str) -> Any:
    if op in NUMBER_OPS:
        return rng.choice([1, 2, 2.5, "2", "1e3", 1_700_000_000_000, None, "x"])
    if op in VERSION_OPS:
        return rng.choice(["1.2.3", "2", "0.5", "1.a", "1.2.3-beta", "10", 10, "", "1.2"])
    if op in TIME_OPS:
        return rng.choice([TIME, TIME - 86_400_000, 1_800_000_000, "2023-01-01T00:00:00Z", "1700000000000", 0])
    if op in ("eq", "neq"):
        return _value(rng)
    if op == "str_matches":
        return rng.choice(["^US$", "us", "^$", "^\\[", "\\d+", ".*", "(", "^1\\.2", "US\\z", "US\\Z", "(?i)^us$",
                           "u(?i)s", "[[:upper:]]+$", "(?<c>.)\\k<c>", "\\x{55}", "(?a)\\d", "\\s$"])
    if op in ARRAY_OPS:
        return [rng.choice([*STRINGS, 1, 2, 2.0]) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.08:
        return rng.choice([None, "US", {"US": 1}])  # not a list
    return [rng.choice([*STRINGS, 1, 2, 2.0, None, True]) for _ in range(rng.randint(0, 4))]


def _condition(rng: random.Random, earlier_gates: list[str]) -> dict[str, Any]:
    kind = rng.choices(
        ["public", "user_field", "environment_field", "current_time", "user_bucket", "unit_id", "ip_based",
         "ua_based", "pass_gate", "fail_gate"],
        [2, 14, 2, 1, 2, 3, 3, 3, 4, 2],
    )[0]
    if kind == "public":
        return cond("public")
    if kind in ("pass_gate", "fail_gate"):
        roll = rng.random()
        if earlier_gates and roll < 0.85:
            return cond(kind, None, rng.choice(earlier_gates))
        return cond(kind, None, "no_such_gate" if roll < 0.95 else None)
    if kind == "current_time":
        return cond(kind, rng.choice(["before", "after"]), rng.choice([TIME, 4_000_000_000_000]))
    if kind == "environment_field":
        return cond(kind, rng.choice(["any", "none", "eq"]), rng.choice([["production"], ["staging"], "production"]),
                    "tier")
    if kind == "user_bucket":
        op = rng.choice(["lt", "gt", "any", "none"])
        target = rng.randint(0, 1000) if op in ("lt", "gt") else rng.sample(range(1000), 300)
        return cond(kind, op, target, None, rng.choice(["userID", "stableID"]),
                    additionalValues={"salt": rng.choice(["s1", "s2"])})
    if kind == "unit_id":
        op = rng.choice([*MEMBER_OPS, "eq", "neq", *STRING_OPS])
        return cond(kind, op, _target(rng, op), None, rng.choice(["userID", "stableID", "companyID", "StableID"]))
    if kind == "ip_based":
        op = rng.choice(["any", "none", "eq"])
        return cond(kind, op, rng.choice([["US"], ["AU", "US"], [""], "US"]), rng.choice(["country", "Country", "ip"]))
    if kind == "ua_based":
        field = rng.choice(["os_name", "browser_name", "browser_version", "os_version", "osname"])
        op = rng.choice(["any", "none", *VERSION_OPS[:3], *STRING_OPS[:1]])
        names = {"os_name": ["Windows", "iOS", "Mac OS X", "Linux", "Android", "Other"],
                 "browser_name": ["Chrome", "Safari", "Mobile Safari", "Firefox", "Other", "curl"]}
        target = (rng.sample(names.get(field, names["os_name"]), 2) if op in ("any", "none", "str_starts_with_any")
                  else rng.choice(["17.0.0", "124", "0.0.0", "10"]))
        return cond(kind, op, target, field)
    op = rng.choice(NUMBER_OPS + VERSION_OPS + MEMBER_OPS + STRING_OPS + TIME_OPS + ARRAY_OPS
                    + ["eq", "neq", "str_matches"])
    return cond(kind, op, _target(rng, op), rng.choice(FIELDS))


def _rules(rng: random.Random, earlier: list[str], n_max: int, values: list[Any], **extra: Any) -> list[dict[str, Any]]:
    rules = []
    for i in range(rng.randint(1, n_max)):
        conditions = [_condition(rng, earlier) for _ in range(rng.randint(1, 3))]
        more = dict(extra)
        if rng.random() < 0.25:
            more["samplingRate"] = 1
        if rng.random() < 0.2:
            more["idType"] = rng.choice(["stableID", "companyID"])
        rules.append(rule(f"rule{i}_{rng.randint(0, 999)}", conditions, pct=rng.choice([100, 100, 50, 0]),
                          value=rng.choice(values), **more))
    return rules


def random_payload(rng: random.Random) -> dict[str, Any]:
    gates: list[dict[str, Any]] = []
    names: list[str] = []
    for i in range(rng.randint(4, 9)):
        entity = rng.choices(["feature_gate", "segment", "holdout"], [6, 2, 1])[0]
        name = f"segment:seg{i}" if entity == "segment" else f"{'holdout' if entity == 'holdout' else 'gate'}{i}"
        spec = gate(name, _rules(rng, names, 3, [True]), entity=entity)
        if rng.random() < 0.1:
            spec["enabled"] = False
        if rng.random() < 0.1:
            spec["forwardAllExposures"] = True
        if rng.random() < 0.15:
            spec["idType"] = "stableID"
        gates.append(spec)
        names.append(name)
    values = [{"color": c, "size": s} for c in ("red", "blue", "") for s in (1, 2.5)]
    configs = []
    for i in range(rng.randint(1, 3)):
        configs.append(config(f"config{i}", _rules(rng, names, 3, values)))
    experiments = []
    for i in range(rng.randint(1, 3)):
        holdout = [cond("fail_gate", None, h) for h in names if h.startswith("holdout")][:1]
        rules = [rule(f"launch{i}", holdout, pct=0, value=values[0])] if holdout else []
        rules += _rules(rng, names, 2, values, groupName=f"group{i}", isExperimentGroup=True)
        spec = config(f"exp{i}", rules, entity="experiment", isActive=rng.random() < 0.8,
                      hasSharedParams=True, explicitParameters=["color"])
        if rng.random() < 0.1:
            spec["enabled"] = False
        experiments.append(spec)
    layers = [config("layer0", [rule("layerAssignment", [cond("public")], pct=100, value={},
                                     configDelegate=e["name"]) for e in experiments[:1]]
                     + [rule("layerRule", [_condition(rng, names)], value={"color": "green"})],
                     entity="layer", default={"color": "grey", "size": 0}, explicitParameters=[])]
    extra: dict[str, Any] = {}
    if rng.random() < 0.5:
        extra["sdk_configs"] = {"sampling_mode": rng.choice(["on", "shadow"]), "special_case_sampling_rate": 1}
    return payload(gates, configs + experiments, layers, {"layer0": [e["name"] for e in experiments]}, **extra)


def random_user(rng: random.Random, i: int) -> dict[str, Any]:
    user: dict[str, Any] = {}
    roll = rng.random()
    user["userID"] = f"user{i}" if roll < 0.8 else rng.choice(["", 12345, "ünï", "x" * 200])
    for key in ("email", "country", "locale", "appVersion"):
        if rng.random() < 0.5:
            user[key] = rng.choice(STRINGS) if rng.random() < 0.9 else rng.choice(NUMBERS)
    if rng.random() < 0.6:
        user["ip"] = rng.choice(IPS)
    if rng.random() < 0.6:
        user["userAgent"] = rng.choice(UAS)
    if rng.random() < 0.8:
        custom = {k: _value(rng) for k in rng.sample(["age", "tier", "tags", "flag", "when", "ver", "name", "email",
                                                       "Email", "country"], rng.randint(0, 5))}
        user["custom"] = custom
    if rng.random() < 0.2:
        user["privateAttributes"] = {k: _value(rng) for k in rng.sample(["age", "tier", "locale"], 2)}
    if rng.random() < 0.6:
        user["customIDs"] = {k: rng.choice([f"id{i}", "", "ünï", "7"]) for k in
                             rng.sample(["stableID", "companyID", "stableid"], rng.randint(1, 2))}
    if rng.random() < 0.4:
        user["statsigEnvironment"] = {"tier": rng.choice(["production", "staging", "Production"])}
    return user


def random_job(seed: int, users: int = 12) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    """(v1 payload, calls, tier): every gate, config, experiment and layer for every user, a few GCIRs."""
    rng = random.Random(seed)
    p = random_payload(rng)
    tier = "production" if "sdk_configs" in p else rng.choice([None, "staging"])
    calls: list[dict[str, Any]] = []
    people = [random_user(rng, i) for i in range(users)]
    for user in people:
        for g in p["feature_gates"]:
            calls.append({"kind": "gate", "name": g["name"], "user": user})
        for c in p["dynamic_configs"]:
            kind = "experiment" if c["entity"] == "experiment" else "config"
            calls.append({"kind": kind, "name": c["name"], "user": user})
        calls.append({"kind": "layer", "name": "layer0", "user": user, "param": rng.choice(["color", "size"])})
    for user in people[:3]:
        calls.append({"kind": "gcir", "name": "", "user": user, "hash": rng.choice(["none", "djb2", "sha256"])})
    rng.shuffle(calls)
    return p, calls, tier
