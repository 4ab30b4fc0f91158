"""layers/build.py: build the layer zips (both variants, every runtime whose interpreter this machine has), look
inside them, and run examples/app.py from them as Lambda would: read-only, no byte code written, the byte code
as shipped.

The build runs with the interpreter this venv was made from and *its* pip (what a fresh machine has), not the
venv's upgraded one.

The handler runs in a child ``python -I -S`` (no site-packages, no PYTHON* variables) whose sys.path is laid
out as Lambda lays it out: the function's own folder, then /opt/python (the unzipped layer), then the
runtime's libraries (a folder holding only boto3 and what it needs, linked from this environment). So the
layer must bring everything else itself, and its urllib3 must win over the runtime's.

pip reaches the package registry for the build; the tests skip (saying so) only when it cannot.
"""

from __future__ import annotations

import ast
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
BUILD_TIMEOUT_S = 600
HERE_PYTHON = "{}.{}".format(*sys.version_info[:2])
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)  # the machine's own interpreter and pip


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
        [BASE_PYTHON, str(BUILD), *flags, "--source", str(source), "--out", str(out)],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, f"layers/build.py failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's sources, copied once, so that every build here sees the same files."""
    return build.copy_sources(REPO, tmp_path_factory.mktemp("source") / "checkout")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Path:
    """Every zip: both variants for every runtime; byte code where this machine has the interpreter."""
    require_registry(tmp_path_factory.mktemp("registry-check"))
    out = tmp_path_factory.mktemp("layer-build")
    started = time.monotonic()
    done = run_build(source, out, "--all", "--python", "all", "--bytecode", "optional")
    elapsed = time.monotonic() - started
    print(f"\n$ python layers/build.py --all --python all  ({elapsed:.1f} s)\n{done.stdout}\n{done.stderr}")
    return out


@pytest.fixture(scope="module")
def layers(built: Path) -> dict[str, Path]:
    """The two variants for this interpreter's runtime (the ones the handler tests run)."""
    return {"lean": built / build.zip_name(False, HERE_PYTHON), "powertools": built / build.zip_name(True, HERE_PYTHON)}


def all_zips(built: Path) -> list[Path]:
    zips = sorted(built.glob("*.zip"))
    assert len(zips) == 2 * len(build.TARGET_PYTHONS), [z.name for z in zips]
    return zips


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


def test_sizes_are_within_budget(built: Path) -> None:
    rows = []
    for path in all_zips(built):
        manifest = json.loads(path.with_suffix(".json").read_text())
        budget = build.POWERTOOLS_BUDGET_BYTES if "powertools" in path.name else build.LEAN_BUDGET_BYTES
        zipped, unzipped = path.stat().st_size, unzipped_size(path)
        assert (manifest["zipped_bytes"], manifest["unzipped_bytes"]) == (zipped, unzipped)
        rows.append(f"  {path.name:<46} zipped {zipped:>9,} B   unzipped {unzipped:>9,} B   budget {budget:>9,} B"
                    f"   byte code {manifest['bytecode']}")
        assert zipped <= budget, f"{path.name} is {zipped:,} bytes zipped, over its {budget:,} byte budget"
    print("\nlayer sizes\n" + "\n".join(rows))


def test_each_runtime_gets_its_own_byte_code_when_its_interpreter_is_here(built: Path) -> None:
    """Byte code for the zip's runtime only, unchecked-hash, beside its source; none for a missing interpreter."""
    for path in all_zips(built):
        python = path.stem.rsplit("-python", 1)[1]
        manifest = json.loads(path.with_suffix(".json").read_text())
        interpreter = build.find_interpreter(python, {})
        tag = "cpython-" + python.replace(".", "")
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            pycs = sorted(n for n in names if n.endswith(".pyc"))
            if interpreter is None:
                assert pycs == [] and manifest["bytecode"].startswith("none"), path.name
                continue
            # "(not ...)": over budget, the build gave up the rule tables' byte code (build.BYTECODE_LAST)
            assert manifest["bytecode"].startswith(f"{tag}: {len(pycs)} modules"), manifest["bytecode"]
            assert len(pycs) >= 80, f"{path.name}: only {len(pycs)} modules compiled"
            for name in pycs:
                folder, cache, file = name.rsplit("/", 2)
                assert cache == "__pycache__" and file.endswith(f".{tag}.pyc"), name
                assert f"{folder}/{file.split('.')[0]}.py" in names, f"{name} has no source beside it"
                header = archive.read(name)[:16]
                assert int.from_bytes(header[4:8], "little") == 0b01, f"{name} is not an unchecked-hash pyc"
            if python == HERE_PYTHON:
                import importlib.util

                assert {archive.read(n)[:4] for n in pycs} == {importlib.util.MAGIC_NUMBER}
            modules = {n.removeprefix("python/").split("/__pycache__")[0] for n in pycs}
            for needed in ("statsig_lite", "statsig_lite/evaluator", "urllib3", "ua_parser", "ip3country"):
                assert needed in modules, f"{path.name}: no byte code in {needed}"
            assert not any(n.startswith("python/statsig_lite/refresher/__pycache__") for n in pycs)
            for pruned in build.PRUNED:
                assert not any(n.startswith(f"python/{pruned}") for n in names), pruned


def test_zip_entries_are_normalised(layers: dict[str, Path]) -> None:
    with zipfile.ZipFile(layers["lean"]) as archive:
        for info in archive.infolist():
            assert info.date_time == build.ZIP_EPOCH, info.filename
            assert stat.S_IMODE(info.external_attr >> 16) == build.FILE_MODE, info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED
        assert archive.testzip() is None


def test_build_is_reproducible(built: Path, source: Path, tmp_path: Path) -> None:
    """Every runtime's lean zip, built again, has the same bytes (3.10 marshals frozensets in hash order)."""
    run_build(source, tmp_path, "--python", "all", "--bytecode", "optional")
    for python in build.TARGET_PYTHONS:
        name = build.zip_name(False, python)
        first = hashlib.sha256((built / name).read_bytes()).hexdigest()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == first, name


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
        [sys.executable, "-I", "-S", "-B", str(runner), str(task), str(opt / "python"), str(runtime), cases],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=task.parent,
    )  # fmt: skip
    assert done.returncode == 0, f"handler failed from the layer:\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


POISONED = ("statsig_lite/server.py", "statsig_lite/evaluator/evaluate.py", "urllib3/connectionpool.py",
            "ua_parser/core.py", "ip3country/country_lookup.py")
POISON = "\nraise RuntimeError('compiled from source: the byte code in the layer was not used')\n"


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
    # Byte code as shipped: with unchecked-hash pycs the interpreter never reads these sources, so poisoning
    # them proves the layer's byte code is what runs (a source compiled at import would raise).
    for module in POISONED:
        path = opt / "python" / module
        path.write_text(path.read_text(encoding="utf-8") + POISON, encoding="utf-8")
    before = sorted(str(p.relative_to(opt)) for p in opt.rglob("*"))

    started = time.monotonic()
    result = run_handler(task, opt, runtime)
    print(f"\n{setup}: 1 init + {len(USERS) + len(HTTP_EVENTS)} invocations in {time.monotonic() - started:.2f} s")

    plain, http = expected_answers()
    assert result["plain"] == plain
    assert result["http"] == http
    assert result["country"] == "US"
    assert result["browser"] == "Chrome"
    assert result["no_site"] and result["isolated"]
    assert sorted(str(p.relative_to(opt)) for p in opt.rglob("*")) == before, "the run wrote into /opt"
    site_packages = [p for p in result["path"] if "site-packages" in p]
    assert site_packages == [], f"site-packages leaked into the isolated run: {site_packages}"
    layer_dir = str(opt / "python")
    for name, origin in result["origins"].items():
        where = str(runtime) if name in RUNTIME_PROVIDED else layer_dir
        assert origin.startswith(where + os.sep), f"{name} came from {origin}, not {where}"


def test_the_first_byte_code_given_up_is_of_modules_the_decorator_never_imports(tmp_path: Path) -> None:
    """build.BYTECODE_LAST starts with modules no decorated invocation loads (init, a check, the flush): giving up
    their byte code costs a Lambda function nothing."""
    never = [m.removesuffix(".py").replace("/", ".") for m in build.BYTECODE_LAST[:3]]
    assert all(m.startswith("statsig_lite.") for m in never)
    script = (
        "import sys\n"
        "from statsig_lite import StatsigUser, statsig, statsig_handler\n"
        "@statsig_handler\n"
        "def handler(event, context):\n"
        "    return statsig.check_gate(StatsigUser('u'), 'new_checkout')\n"
        "class Context:\n"
        "    aws_request_id = 'r'\n"
        "    def get_remaining_time_in_millis(self):\n"
        "        return 3000\n"
        "handler({}, Context())\n"
        "print(','.join(m for m in sys.modules if m.startswith('statsig_lite')))\n"
    )
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "f", "STATSIG_SPEC_SOURCE": "example",
           "STATSIG_LOCAL_MODE": "true", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    loaded = set(out.strip().splitlines()[-1].split(","))
    assert "statsig_lite.server" in loaded  # the probe did run the decorated path
    assert not loaded & set(never), sorted(loaded & set(never))


# --------------------------------------------------------------------------- sources without the prose


def load_slimmer() -> Any:
    spec = importlib.util.spec_from_file_location("layer_slim_sources", build.SLIM_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


slimmer = load_slimmer()

TRICKY = (
    "# -*- coding: utf-8 -*-\n"
    '"""Module docstring,\n\nover three lines."""\n'
    "from __future__ import annotations\n"
    "\n"
    "x = 1  # a comment after code\n"
    "\f\n"  # a form feed: a line for str.splitlines, not for the parser
    "def only_doc():\n"
    '    """The whole body."""\n'
    "\n"
    "def doc_then_code():  # why\n"
    "    '''Doc.'''\n"
    "    return '# not a comment', x\n"
    "\n"
    'def same_line(): "kept: it shares the line with code"; return 2\n'
    "\n"
    "values = [\n"
    "    1,  # one\n"
    "    # a whole-line comment inside brackets\n"
    "    2,\n"
    "]\n"
    "raise_here = lambda: 1 / 0\n"
)


def test_slimming_blanks_comments_and_docstrings_and_keeps_every_line() -> None:
    slim = slimmer.slim(TRICKY)
    original, slimmed = TRICKY.split("\n"), slim.split("\n")
    assert len(slimmed) == len(original)
    assert slimmed[0] == "# -*- coding: utf-8 -*-"  # an encoding declaration stays
    assert slimmed[1:4] == ["", "", ""]  # the module docstring
    assert slimmed[6] == "x = 1"  # the comment after it is gone
    for prose in ("a comment after code", "whole-line comment", "# one", "# why", "Doc.", "The whole body"):
        assert prose not in slim, prose
    assert "x = 1" in slim
    assert "    ..." in slimmed  # a body that was only a docstring
    assert "'# not a comment'" in slim  # a string is not a comment
    assert '"kept: it shares the line with code"' in slim
    assert slimmer.shape(slim) == slimmer.shape(TRICKY)
    namespace: dict[str, Any] = {}
    exec(compile(slim, "tricky.py", "exec"), namespace)
    assert namespace["only_doc"]() is None and namespace["doc_then_code"]() == ("# not a comment", 1)
    assert namespace["same_line"]() == 2 and namespace["values"] == [1, 2]
    with pytest.raises(ZeroDivisionError) as raised:
        namespace["raise_here"]()
    assert raised.traceback[-1].lineno + 1 == TRICKY.split("\n").index("raise_here = lambda: 1 / 0") + 1


def test_the_lean_zip_ships_our_sources_without_prose_on_the_same_lines(layers: dict[str, Path]) -> None:
    """Every statsig_lite module in the zip: no docstring, no comment, the same code on the same lines as the
    checkout's (tracebacks from the layer point at the right lines), and its byte code compiled from it."""
    import io
    import tokenize

    with zipfile.ZipFile(layers["lean"]) as archive:
        sources = {n: archive.read(n).decode() for n in archive.namelist()
                   if n.startswith("python/statsig_lite/") and n.endswith(".py")}  # fmt: skip
        assert len(sources) > 60
        for name, text in sources.items():
            checkout = (REPO / name.removeprefix("python/")).read_text(encoding="utf-8")
            assert slimmer.shape(text) == slimmer.shape(checkout), name
            comments = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
            assert comments == [], f"{name}: {comments[0].string!r}"
            assert ast.get_docstring(ast.parse(text)) is None, name
            folder, _, file = name.rpartition("/")
            pyc = f"{folder}/__pycache__/{file[:-3]}.cpython-{HERE_PYTHON.replace('.', '')}.pyc"
            if pyc in archive.namelist():  # the byte code's source hash is of the shipped text
                assert archive.read(pyc)[8:16] == importlib.util.source_hash(text.encode()), name


def test_our_modules_with_byte_code_read_no_variable_annotations() -> None:
    # layers/bytecode.py compiles statsig_lite's module annotations and those of undecorated classes away
    # (NO_VARIABLE_ANNOTATIONS; a @dataclass keeps its own): right only while nothing that ships byte code
    # reads them otherwise (NamedTuple and TypedDict subclasses, or the annotations themselves)
    readers = ("NamedTuple", "TypedDict", "__annotations__", "get_type_hints", "inspect")
    package = Path(__file__).resolve().parent.parent / "statsig_lite"
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).as_posix()
        if "refresher/" in relative or relative.split("/")[-1] in ("__main__.py", "demo.py", "demo_sink.py"):
            continue  # source only in the layer (layers/bytecode.py: NOT_ON_LAMBDA)
        names = {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}
        found += [f"{relative}: {r}" for r in readers if r in names]
    assert not found, found


def test_variable_annotations_compile_away_as_plain_assignments() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers"))
    try:
        import bytecode
    finally:
        sys.path.pop(0)
    source = ("x: int = 1\ny: str\nclass C:\n    a: int = 2\n    b: int\n    def f(self) -> None:\n        z: int = 3\n"
              "def keep(cls):\n    return cls\n@keep\nclass D:\n    d: int = 4\n")
    tree = bytecode.slimmed(ast.parse(source), True, True)
    namespace: dict[str, Any] = {}
    exec(compile(tree, "t", "exec"), namespace)
    assert namespace["x"] == 1 and namespace["C"].a == 2
    assert "__annotations__" not in namespace or not namespace["__annotations__"]
    assert not getattr(namespace["C"], "__annotations__", {})
    assert namespace["D"].__annotations__ == {"d": "int"} or namespace["D"].__annotations__ == {"d": int}
