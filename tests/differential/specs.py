"""Small builders for hand-written minimal payloads (v1 shape; `harness.to_v2` gives the v2 one)."""

from __future__ import annotations

from typing import Any

TIME = 1_700_000_000_000


def cond(ctype: str, operator: str | None = None, target: Any = None, field: str | None = None,
         id_type: str = "userID", **extra: Any) -> dict[str, Any]:
    c = {"type": ctype, "targetValue": target, "operator": operator, "field": field, "additionalValues": {},
         "idType": id_type}
    c.update(extra)
    return c


def rule(rule_id: str, conditions: list[dict[str, Any]], pct: float = 100, value: Any = True,
         **extra: Any) -> dict[str, Any]:
    r = {"name": rule_id, "id": rule_id, "salt": rule_id, "passPercentage": pct, "conditions": conditions,
         "returnValue": value, "idType": "userID"}
    r.update(extra)
    return r


def gate(name: str, rules: list[dict[str, Any]], entity: str = "feature_gate", **extra: Any) -> dict[str, Any]:
    g = {"name": name, "type": "feature_gate", "entity": entity, "salt": f"salt_{name}", "enabled": True,
         "defaultValue": False, "idType": "userID", "rules": rules, "version": 3}
    g.update(extra)
    return g


def config(name: str, rules: list[dict[str, Any]], entity: str = "dynamic_config", default: Any = None,
           **extra: Any) -> dict[str, Any]:
    c = {"name": name, "type": "dynamic_config", "entity": entity, "salt": f"salt_{name}", "enabled": True,
         "defaultValue": default if default is not None else {"v": "default"}, "idType": "userID", "rules": rules,
         "version": 5}
    c.update(extra)
    return c


def payload(gates: list[dict[str, Any]] = (), configs: list[dict[str, Any]] = (),  # type: ignore[assignment]
            layers: list[dict[str, Any]] = (), layer_map: dict[str, list[str]] | None = None,  # type: ignore[assignment]
            **extra: Any) -> dict[str, Any]:
    p = {"has_updates": True, "time": TIME, "feature_gates": list(gates), "dynamic_configs": list(configs),
         "layer_configs": list(layers), "layers": layer_map or {}, "id_lists": {}}
    p.update(extra)
    return p


def one_condition_gate(c: dict[str, Any], pct: float = 100) -> dict[str, Any]:
    return payload([gate("g", [rule("r1", [c], pct=pct), rule("r2", [cond("public")], pct=100, value=True)])])
