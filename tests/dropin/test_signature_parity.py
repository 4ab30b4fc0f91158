"""Signature parity with the official `statsig` package, maintaining itself.

The test walks every module of the installed `statsig` package. A module is either mirrored (statsig_lite
has the same path, every public class, function and constant it defines, every public method of those
classes, every parameter name at the same position with the same default) or listed in INTERNAL_MODULES
with the reason it is not part of the surface code imports. Anything that differs on purpose is listed
in DIFFERENCES with its reason; a new official module, name or parameter fails the test until it is
mirrored or listed.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from enum import Enum
from types import ModuleType
from typing import Any

import pytest

statsig = pytest.importorskip("statsig")

# Official modules that are implementation, not surface: nothing public is imported from them.
INTERNAL_MODULES = {
    "batch_event_queue": "the legacy logger's queue; ours is pipeline.py/buffer.py",
    "client_initialize_formatter": "GCIR internals; the response is a plain dict (get_client_initialize_response)",
    "config_evaluation": "evaluator result record; results are FeatureGate/DynamicConfig/Layer",
    "constants": "evaluator constants",
    "diagnostics": "diagnostics events to Statsig; statsig_lite sends none (disable_diagnostics is moot)",
    "evaluation_context": "evaluator internals",
    "evaluator": "evaluator internals (`_Evaluator`); ours is statsig_lite.evaluator",
    "globals": "the legacy SDK's module-level logger",
    "grpc": "gRPC streaming worker (generated protobuf code); statsig_lite speaks HTTP only",
    "grpc_websocket_worker": "gRPC streaming worker; statsig_lite speaks HTTP only",
    "grpc_worker": "gRPC streaming worker; statsig_lite speaks HTTP only",
    "http_worker": "the requests-based network worker; ours is urllib3 in sources/ and sinks/",
    "request_result": "network worker result record",
    "sdk_configs": "`_SDK_Configs` (private) reads sdk_configs from the payload; ours is in the store",
    "spec_store": "rules store internals; ours is statsig_lite.store",
    "spec_updater": "polling threads; ours is lifecycle.py/background.py",
    "statsig_context": "initialize bookkeeping (InitContext); its fields are on InitializeDetails",
    "statsig_error_boundary": "the except-everything wrapper; our checks never raise by construction",
    "statsig_logger": "event logger internals (`_StatsigLogger`); ours is pipeline.py",
    "statsig_logger_worker": "event logger threads; ours is background.py",
    "statsig_metadata": "statsigMetadata builder (`_StatsigMetadata`)",
    "statsig_network": "network internals (`_StatsigNetwork`)",
    "statsig_telemetry_logger": "the legacy SDK's own telemetry; ours logs through `logging`",
    "stream_decompressor": "decompression of streamed gRPC payloads",
    "thread_util": "thread helpers",
    "ttl_set": "dedupe set; ours is in exposures.py",
}

# Mirrored only in part: the names kept, and why the rest are not surface.
PARTIAL_MODULES = {
    "utils": ({"HashingAlgorithm"}, "the rest are the legacy SDK's hashing/dict helpers"),
}

# Deliberate differences: "<module>.<qualname>" (a name) or "...:<param>" (one parameter), with the reason.
DIFFERENCES = {
    "statsig.layer.Layer.__init__": "the official constructor is private (a create-key assertion): layers are"
    " built by the SDK only; ours takes (name, rule_id, value, ...)",
    "statsig.statsig.get_client_initialize_response:hash": "default None = the payload's dialect decides:"
    " sha256 for a v1 payload (as the legacy SDK), djb2 for a v2 payload (as statsig-python-core)",
    "statsig.statsig_server.StatsigServer.get_client_initialize_response:hash": "as statsig.get_client_initialize_"
    "response:hash",
    "statsig.version.__version__": "statsig_lite's own version, not 0.72.1",
}


def _official_modules() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(statsig.__path__):
        names.append(info.name)
    return sorted(names)


def _lite(name: str) -> ModuleType:
    return importlib.import_module(f"statsig_lite.{name}")


def _norm(value: Any) -> Any:
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    return value


def _no_default(param: inspect.Parameter) -> bool:
    return param.default is inspect.Parameter.empty or param.default is dataclasses.MISSING or (
        type(param.default).__name__ == "_HAS_DEFAULT_FACTORY_CLASS"
    )


def _compare_signature(qualname: str, official: Any, ours: Any) -> list[str]:
    problems: list[str] = []
    try:
        theirs_sig = inspect.signature(official)
    except (TypeError, ValueError):
        return problems
    mine_sig = inspect.signature(ours)
    theirs = [p for p in theirs_sig.parameters.values() if p.name != "self"]
    mine = [p for p in mine_sig.parameters.values() if p.name != "self"]
    mine_by_name = {p.name: p for p in mine}
    positional = [p for p in mine if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for index, param in enumerate(theirs):
        key = f"{qualname}:{param.name}"
        if key in DIFFERENCES:
            continue
        if param.kind is param.VAR_POSITIONAL:
            if not any(p.kind is p.VAR_POSITIONAL for p in mine):
                problems.append(f"{key}: *args not accepted")
            continue
        if param.kind is param.VAR_KEYWORD:
            if not any(p.kind is p.VAR_KEYWORD for p in mine):
                problems.append(f"{key}: **kwargs not accepted")
            continue
        ours_param = mine_by_name.get(param.name)
        if ours_param is None:
            problems.append(f"{key}: missing")
            continue
        if param.kind is param.POSITIONAL_OR_KEYWORD and (
            index >= len(positional) or positional[index].name != param.name
        ):
            problems.append(f"{key}: not at position {index}")
        if ours_param.kind not in (param.kind, param.POSITIONAL_OR_KEYWORD):
            problems.append(f"{key}: kind {ours_param.kind} instead of {param.kind}")
        if not _no_default(param):
            if ours_param.default is inspect.Parameter.empty:
                problems.append(f"{key}: no default (official {param.default!r})")
            elif _norm(ours_param.default) != _norm(param.default):
                problems.append(f"{key}: default {ours_param.default!r} instead of {param.default!r}")
    official_names = {p.name for p in theirs}
    for param in mine:
        extra = param.name not in official_names and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        if extra and param.default is inspect.Parameter.empty and param.kind is not param.KEYWORD_ONLY:
            problems.append(f"{qualname}:{param.name}: our extra parameter needs a default")
    return problems


def _public_members(cls: type) -> dict[str, Any]:
    members = {}
    for name, value in vars(cls).items():
        if name == "__init__" or not name.startswith("_"):
            members[name] = value
    return members


def _compare_class(qualname: str, official: type, ours: Any) -> list[str]:
    if not isinstance(ours, type):
        return [f"{qualname}: not a class"]
    if issubclass(official, Enum):
        theirs = {m.name: m.value for m in official.__members__.values()}
        mine = {m.name: m.value for m in ours.__members__.values()} if issubclass(ours, Enum) else {}
        missing = {k: v for k, v in theirs.items() if mine.get(k) != v}
        return [f"{qualname}: members {missing} missing or different"] if missing else []
    problems = []
    for name, member in _public_members(official).items():
        key = f"{qualname}.{name}"
        if key in DIFFERENCES:
            continue
        mine = inspect.getattr_static(ours, name, None)
        if name == "__init__" and mine is None:
            mine = vars(ours).get("__init__") or object.__init__
        if mine is None:
            problems.append(f"{key}: missing")
            continue
        if isinstance(member, property):
            if not isinstance(mine, property):
                problems.append(f"{key}: not a property")
            continue
        func = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
        if callable(func):
            mine_func = mine.__func__ if isinstance(mine, (staticmethod, classmethod)) else mine
            if not callable(mine_func):
                problems.append(f"{key}: not callable")
                continue
            problems += _compare_signature(key, func, mine_func)
    return problems


def _compare_unimportable(short: str, ours: ModuleType) -> list[str]:
    """An official module that cannot be imported here (redis_data_store needs the optional redis
    package): compare names and parameter positions from its source."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(statsig.__path__[0]) / f"{short}.py").read_text())
    problems = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        mine = getattr(ours, node.name, None)
        if mine is None:
            problems.append(f"statsig.{short}.{node.name}: missing")
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and (item.name == "__init__" or not item.name.startswith("_")):
                names = [a.arg for a in item.args.args]
                got = list(inspect.signature(getattr(mine, item.name)).parameters)
                if got[: len(names)] != names:
                    problems.append(f"statsig.{short}.{node.name}.{item.name}: {got} instead of {names}")
    return problems


def _compare_module(short: str) -> list[str]:
    try:
        ours = _lite(short)
    except ImportError:
        return [f"statsig.{short}: no statsig_lite.{short}"]
    try:
        official = importlib.import_module(f"statsig.{short}")
    except (ImportError, NameError):
        return _compare_unimportable(short, ours)
    keep = PARTIAL_MODULES.get(short, (None, ""))[0]
    problems = []
    for name, value in vars(official).items():
        if name.startswith("_") and not (name == "__version__" and short == "version"):
            continue
        if keep is not None and name not in keep:
            continue
        qualname = f"statsig.{short}.{name}"
        defined_here = getattr(value, "__module__", None) == official.__name__
        constant = name.isupper() or (name == "__version__" and short == "version")
        if not (defined_here or constant) or isinstance(value, ModuleType):
            continue
        if qualname in DIFFERENCES and not constant:
            continue
        if not hasattr(ours, name):
            problems.append(f"{qualname}: missing")
            continue
        mine = getattr(ours, name)
        if constant and isinstance(value, (int, float, str)) and qualname not in DIFFERENCES and mine != value:
            problems.append(f"{qualname}: {mine!r} instead of {value!r}")
        elif inspect.isclass(value):
            problems += _compare_class(qualname, value, mine)
        elif inspect.isfunction(value):
            problems += _compare_signature(qualname, value, mine)
    return problems


def test_every_official_module_is_mirrored_or_listed_as_internal() -> None:
    official = set(_official_modules())
    unknown = sorted(official - INTERNAL_MODULES.keys() - {m for m in official if m in _mirrored()})
    assert unknown == [], f"new official modules to mirror or list in INTERNAL_MODULES: {unknown}"
    assert all(INTERNAL_MODULES.values()) and all(reason for _, reason in PARTIAL_MODULES.values())
    stale = sorted(set(INTERNAL_MODULES) - official)
    assert stale == [], f"INTERNAL_MODULES lists modules the official package no longer has: {stale}"


def _mirrored() -> list[str]:
    return [m for m in _official_modules() if m not in INTERNAL_MODULES]


@pytest.mark.parametrize("module", _mirrored())
def test_official_module_has_the_same_names_and_signatures(module: str) -> None:
    assert _compare_module(module) == []


def test_package_exports_every_official_name() -> None:
    import statsig_lite

    missing = [name for name in statsig.__all__ if not hasattr(statsig_lite, name)]
    assert missing == []
    assert set(statsig.__all__) <= set(statsig_lite.__all__)


def test_differences_are_still_differences() -> None:
    """A listed difference that no longer exists (official changed, or we aligned) must leave the list."""
    saved = dict(DIFFERENCES)
    try:
        for key in saved:
            DIFFERENCES.clear()
            DIFFERENCES.update({k: v for k, v in saved.items() if k != key})
            module = key.split(".")[1]
            if key.endswith("__version__"):
                import statsig_lite

                assert statsig_lite.__version__ != statsig.__version__
                continue
            assert _compare_module(module) != [], f"{key} is listed as a difference but matches"
    finally:
        DIFFERENCES.clear()
        DIFFERENCES.update(saved)


def test_every_official_argument_binds_positionally_and_by_keyword() -> None:
    """The main entry points, called the way the official docs call them."""
    import statsig_lite
    from statsig_lite import StatsigServer
    from statsig_lite import statsig as facade

    server_methods = {
        "initialize": ("sdkKey", "options"),
        "check_gate": ("user", "gate_name", "log_exposure"),
        "get_feature_gate": ("user", "gate_name", "log_exposure"),
        "get_config": ("user", "config_name", "log_exposure"),
        "get_experiment": ("user", "experiment_name", "log_exposure"),
        "get_layer": ("user", "layer_name", "log_exposure"),
        "manually_log_layer_parameter_exposure": ("user", "layer_name", "parameter_name"),
        "get_experiment_groups": ("experiment_name",),
        "log_exposure_for_config": ("config_eval",),
    }
    for name, params in server_methods.items():
        sig = inspect.signature(getattr(StatsigServer, name))
        sig.bind(None, *params)
        sig.bind(None, **{p: p for p in params})
    inspect.signature(statsig_lite.DynamicConfig).bind(data={}, name="n", rule="r")
    inspect.signature(statsig_lite.FeatureGate).bind(data=True, name="n", rule="r", id_type="userID")
    inspect.signature(statsig_lite.StatsigEvent).bind(None, "e", statsigMetadata={})
    for name in ("evaluate_all", "get_experiment_groups", "log_exposure_for_config", "pause_polling_dcs",
                 "start_polling_dcs"):
        assert callable(getattr(facade, name))
