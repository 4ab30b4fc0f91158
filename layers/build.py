#!/usr/bin/env python3
"""Build the statsig_lite Lambda layer: one zip per Python runtime, with that runtime's byte code.

    python layers/build.py [--python 3.12 ... | --python all] [--with-powertools | --all] [--out layers/build]
    python layers/build.py --python 3.12 --tree DIR      # the unzipped tree (what `sam build` asks for)

Each zip holds one ``python/`` tree (Lambda unpacks layers into /opt and puts /opt/python on sys.path):
statsig_lite, built from this checkout, and its runtime dependencies installed by pip from the package
registry for a Lambda target (``--platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.12
--target``: any pip from 22.2 on, so a fresh machine's own pip does).

- Byte code for its runtime: Lambda's /opt is read-only, so a layer without byte code compiles every module
  it loads at every cold start. `bytecode.py`, run by the runtime's own interpreter (``pythonX.Y`` on PATH,
  pyenv, or ``--interpreter X.Y=PATH``), writes ``__pycache__/*.cpython-XY.pyc`` beside the sources as
  unchecked-hash pycs (valid whatever the zip does to timestamps), for statsig_lite and the dependency modules
  a function loads. Byte code is tied to one minor Python version, hence one zip per runtime
  (``statsig-lite-layer-python3.12.zip``). Without that interpreter the build stops, or with
  ``--bytecode optional`` ships that runtime's zip without byte code and says so.
- Left out: boto3, botocore, s3transfer and jmespath (every Lambda Python runtime ships them), unless
  ``--with-powertools`` aws-lambda-powertools (functions add AWS's managed Powertools layer instead), and
  dependency files nothing loads on Lambda (`PRUNED`).
- Architecture-free: the dependencies are resolved for x86_64 and aarch64 on CPython 3.10 to 3.13; the build
  stops unless every resolution picks the same pure-Python (``*-none-any``) wheels and the installed tree
  holds no compiled extension, so each zip serves both architectures.
- Stripped: no ``bin/`` scripts, no ``*.dist-info/RECORD``, ``INSTALLER``, ``REQUESTED`` or
  ``direct_url.json``, no long description in METADATA (its headers and the license files stay).
- Deterministic: entries sorted, timestamps fixed at 1980-01-01, mode 0644, deflate level 9, so the
  same inputs and interpreters give the same bytes (and the same sha256).

Writes ``<out>/statsig-lite-layer-pythonX.Y.zip`` (``statsig-lite-layer-powertools-pythonX.Y.zip`` with
Powertools) and a JSON manifest beside each, and prints zipped and unzipped sizes per distribution.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the project's requires-python floor
    tomllib = None  # type: ignore[assignment]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "layers" / "build"
BYTECODE_SCRIPT = Path(__file__).resolve().parent / "bytecode.py"
SLIM_SCRIPT = Path(__file__).resolve().parent / "slim_sources.py"
MIB = 1 << 20
LEAN_BUDGET_BYTES = 1_000_000  # 1 MB zipped, byte code included
POWERTOOLS_BUDGET_BYTES = 3 * MIB
DEFAULT_PYTHON = "3.12"  # template.yaml's runtime

POWERTOOLS = "aws-lambda-powertools"
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
"""Shipped by every Lambda Python runtime: never put in the layer (a second copy would shadow the runtime's)."""

TARGET_PLATFORMS = ("manylinux2014_x86_64", "manylinux2014_aarch64")
TARGET_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
INSTALL_PLATFORM = TARGET_PLATFORMS[0]
INSTALL_PYTHON = "3.12"

# Dependency files nothing imports on Lambda, with why (the handler test runs both dialects' paths from the zip).
PRUNED = {
    "urllib3/contrib/emscripten": "urllib3 in a browser (Pyodide)",
    "ua_parser/__main__.py": "ua-parser's benchmarking command line",
    "ua_parser_builtins/lazy.py": "rules for ua-parser's lazy loader; statsig_lite loads the eager matchers and "
    "the legacy regexes",
    # opt-in modules whose own dependency is not in the layer (importing them can only fail)
    "urllib3/contrib/pyopenssl.py": "needs pyOpenSSL and cryptography",
    "urllib3/contrib/socks.py": "needs PySocks",
    "urllib3/http2/connection.py": "needs h2 (urllib3.http2.inject_into_urllib3 only)",
    "ua_parser/re2.py": "needs google-re2 (ua_parser falls back when it is missing)",
    "ua_parser/regex.py": "needs regex (ua_parser falls back when it is missing)",
}

# The byte code given up, in this order and only while a zip is over its budget: least harm first, each module
# then compiling from source the first time a sandbox imports it. First modules the decorator's init, check and
# flush never import (tested: tests/test_layer.py): the thread and Redis store of long-running processes, the
# observability interface. Then modules only rarer configurations load, a few ms each: the Statsig API as a
# function's spec source (the refresher's job), the DynamoDB spec source and spill store, Rust regex syntax
# (core payloads with str_matches). Then, by the ms a sandbox pays per zipped KB saved (compiled from source on
# this machine): our user-agent reader (~2.7 ms for 4.7 KB, at the first user-agent check) and the opt-in
# after-response extension (~4 ms for 6.2 KB, at its init), both before ua-parser's two rule tables (about 84 KB
# zipped; ~14 ms each from source at the first such check): session 7's code took the lean zip ~5.6 KB past
# the six off-path modules, and giving up the reader and the extension keeps the tables' byte code. Last the
# opt-in paths many functions take: GCIR, the S3 spill store and the fallback chain (the template configures
# both).
BYTECODE_LAST = (
    "statsig_lite/background.py",
    "statsig_lite/redis_data_store.py",
    "statsig_lite/interface_observability_client.py",
    "statsig_lite/sources/http.py",
    "statsig_lite/sources/dynamodb.py",
    "statsig_lite/sinks/spill_dynamodb.py",
    "statsig_lite/evaluator/rust_regex.py",
    "statsig_lite/evaluator/user_agent.py",
    "statsig_lite/lambda_extension.py",
    "ua_parser_builtins/matchers.py",
    "ua_parser_builtins/regexes.py",
    "statsig_lite/evaluator/gcir.py",
    "statsig_lite/sinks/spill_s3.py",
    "statsig_lite/sources/chain.py",
)

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
DIST_INFO_JUNK = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
SOURCE_PARTS = ("pyproject.toml", "README.md", "statsig_lite")


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Pin:
    name: str  # normalized (PEP 503)
    version: str
    filename: str

    @property
    def pure(self) -> bool:
        return self.filename.endswith("-none-any.whl")


@dataclass
class Distribution:
    name: str
    version: str
    files: list[str] = field(default_factory=list)  # paths relative to the layer root ("python/...")
    unzipped: int = 0
    zipped: int = 0


@dataclass
class LayerResult:
    variant: str
    python: str
    bytecode: str  # "cpython-312: 102 modules" or why there is none
    zip_path: Path
    zipped: int
    unzipped: int
    files: int
    sha256: str
    budget: int
    distributions: list[Distribution]
    removed: dict[str, int]
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "variant": self.variant,
            "python": self.python,
            "bytecode": self.bytecode,
            "zip": self.zip_path.name,
            "zipped_bytes": self.zipped,
            "unzipped_bytes": self.unzipped,
            "files": self.files,
            "sha256": self.sha256,
            "budget_bytes": self.budget,
            "platforms": list(TARGET_PLATFORMS),
            "distributions": [
                {"name": d.name, "version": d.version, "unzipped_bytes": d.unzipped, "zipped_bytes": d.zipped}
                for d in self.distributions
            ],
            "removed": self.removed,
        }


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise BuildError(f"cannot read a package name from requirement {requirement!r}")
    return normalize(match.group(1))


def project_requirements(root: Path) -> list[str]:
    """``[project].dependencies`` of pyproject.toml."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    if tomllib is not None:
        return [str(r) for r in tomllib.loads(text)["project"].get("dependencies", [])]
    # Python 3.10 has no tomllib: read the one-requirement-per-string array directly.
    match = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise BuildError("no [project] dependencies array in pyproject.toml")
    return re.findall(r"\"([^\"]+)\"", match.group(1))


def run_pip(args: Sequence[str], what: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise BuildError(f"pip failed while {what} (exit {done.returncode}):\n  {' '.join(command)}\n{tail}")


def zip_name(with_powertools: bool, python: str) -> str:
    return f"statsig-lite-layer{'-powertools' if with_powertools else ''}-python{python}.zip"


def target_args(platform: str, python: str) -> list[str]:
    return ["--only-binary=:all:", "--platform", platform, "--python-version", python, "--implementation", "cp"]


def resolve(requirements: Sequence[str], platform: str, python: str, workdir: Path) -> frozenset[Pin]:
    """What pip would install for ``requirements`` on that target (a dry run; nothing is installed)."""
    report = workdir / f"resolve-{platform}-{python}.json"
    run_pip(
        [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "--target",  # pip < 23.3 refuses --platform & co. without it, even for a dry run
            str(workdir / f"unused-{platform}-{python}"),
            *target_args(platform, python),
            *requirements,
        ],
        f"resolving for {platform} / CPython {python}",
    )
    data = json.loads(report.read_text())
    pins = set()
    for item in data["install"]:
        meta = item["metadata"]
        url = item["download_info"]["url"]
        pins.add(Pin(normalize(meta["name"]), meta["version"], url.rsplit("/", 1)[-1]))
    return frozenset(pins)


def resolve_everywhere(requirements: Sequence[str], workdir: Path) -> frozenset[Pin]:
    """Resolve for every target; demand one identical, pure-Python answer."""
    targets = [(p, v) for p in TARGET_PLATFORMS for v in TARGET_PYTHONS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda t: resolve(requirements, t[0], t[1], workdir), targets))
    reference = answers[0]
    for (platform, python), answer in zip(targets, answers, strict=True):
        if answer != reference:
            diff = sorted(f"{p.name}=={p.version} ({p.filename})" for p in answer ^ reference)
            raise BuildError(
                f"{platform} / CPython {python} resolves differently from {targets[0][0]} / CPython "
                f"{targets[0][1]}: {diff}; one zip cannot serve every target"
            )
    compiled = sorted(p.filename for p in reference if not p.pure)
    if compiled:
        raise BuildError(f"not pure Python, so one zip cannot serve x86_64 and arm64: {compiled}")
    return reference


def copy_sources(root: Path, dest: Path) -> Path:
    """Copy what the wheel is built from, once: every later step reads this copy (files edited in the
    checkout during a build cannot mix into it, and nothing is written into the checkout)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache")
    dest.mkdir(parents=True)
    for part in SOURCE_PARTS:
        path = root / part
        if not path.exists():
            raise BuildError(f"{path} is missing: --source must be a statsig_lite checkout")
        if path.is_dir():
            shutil.copytree(path, dest / part, ignore=ignore)
        else:
            shutil.copy2(path, dest / part)
    return dest


def build_wheel(source: Path, workdir: Path) -> Path:
    """statsig_lite's wheel, built from ``source`` (a copy made by `copy_sources`)."""
    wheels = workdir / "wheels"
    run_pip(["wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source)], "building statsig_lite")
    built = sorted(wheels.glob("statsig_lite-*.whl"))
    if len(built) != 1:
        raise BuildError(f"expected one statsig_lite wheel, found {[w.name for w in built]}")
    return built[0]


def install(pins: Iterable[Pin], wheel: Path, target: Path) -> None:
    specs = sorted(f"{p.name}=={p.version}" for p in pins)
    run_pip(
        [
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            *target_args(INSTALL_PLATFORM, INSTALL_PYTHON),
            *specs,
            str(wheel),
        ],
        "installing into the layer tree",
    )


def read_distributions(python_dir: Path) -> list[Distribution]:
    """Every installed distribution and its files, from the RECORDs (read before they are stripped)."""
    dists = []
    for info in sorted(python_dir.glob("*.dist-info")):
        meta = info / "METADATA"
        headers = dict(
            line.split(": ", 1) for line in meta.read_text(encoding="utf-8").splitlines()[:20] if ": " in line
        )
        dist = Distribution(normalize(headers.get("Name", info.name)), headers.get("Version", "?"))
        record = info / "RECORD"
        if record.exists():
            for row in record.read_text(encoding="utf-8").splitlines():
                path = row.split(",", 1)[0]
                if path and not path.startswith(".."):
                    dist.files.append("python/" + path)
        dists.append(dist)
    return dists


def strip(python_dir: Path) -> dict[str, int]:
    """Remove bytecode, scripts and install-time metadata; return what was removed, by kind."""
    removed = {
        "__pycache__ dirs": 0,
        "bytecode files": 0,
        "bin/ scripts": 0,
        "dist-info files": 0,
        "METADATA descriptions": 0,
        "top-level data files": 0,
        "pruned files": 0,
    }
    for relative in PRUNED:
        path = python_dir / relative
        if path.is_dir():
            removed["pruned files"] += sum(1 for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()
            removed["pruned files"] += 1
    for cache in sorted(python_dir.rglob("__pycache__"), reverse=True):
        if cache.is_dir():
            shutil.rmtree(cache)
            removed["__pycache__ dirs"] += 1
    for pattern in ("*.pyc", "*.pyo"):
        for path in python_dir.rglob(pattern):
            path.unlink()
            removed["bytecode files"] += 1
    scripts = python_dir / "bin"
    if scripts.is_dir():
        removed["bin/ scripts"] = sum(1 for p in scripts.rglob("*") if p.is_file())
        shutil.rmtree(scripts)
    for info in python_dir.glob("*.dist-info"):
        for name in DIST_INFO_JUNK:
            junk = info / name
            if junk.exists():
                junk.unlink()
                removed["dist-info files"] += 1
        # METADATA keeps its headers (name, version, requirements: what importlib.metadata reads) and loses
        # the long description after them (the project's README).
        meta = info / "METADATA"
        text = meta.read_text(encoding="utf-8")
        headers, blank, body = text.partition("\n\n")
        if blank and body.strip():
            meta.write_text(headers + "\n", encoding="utf-8")
            removed["METADATA descriptions"] += 1
    # Loose files beside the packages that no module reads (ua-parser-builtins drops a git REVISION there).
    for path in python_dir.iterdir():
        if path.is_file() and path.suffix not in (".py", ".pth"):
            path.unlink()
            removed["top-level data files"] += 1
    return removed


# Packages whose sources ship without comments and docstrings, every line kept where it was (slim_sources.py):
# the byte code is what runs; the sources serve tracebacks. Powertools' sources stay as published.
SLIMMED_SOURCES = ("statsig_lite", "urllib3", "ua_parser", "ua_parser_builtins", "ip3country")


def slim_sources(python_dir: Path) -> dict[str, int]:
    """Blank the comments and docstrings of SLIMMED_SOURCES (before any byte code is compiled from them)."""
    packages = [p for p in SLIMMED_SOURCES if (python_dir / p).is_dir()]
    command = [sys.executable, "-I", "-S", "-B", str(SLIM_SCRIPT), str(python_dir), *packages]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise BuildError(f"slimming the sources failed (exit {done.returncode}):\n{tail}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "source files without comments and docstrings": answer["slimmed"],
        "bytes of comments and docstrings": answer["bytes_before"] - answer["bytes_after"],
        "sources kept whole (slimming would have moved a line)": len(answer["unchanged"]),
    }


def check_tree(python_dir: Path, with_powertools: bool) -> None:
    compiled = [str(p.relative_to(python_dir)) for p in python_dir.rglob("*") if p.name.endswith(COMPILED_SUFFIXES)]
    if compiled:
        raise BuildError(f"compiled extensions in the layer (not architecture-free): {compiled[:10]}")
    present = {normalize(p.name.split("-", 1)[0]) for p in python_dir.glob("*.dist-info")}
    unwanted = sorted(present & RUNTIME_PROVIDED)
    if unwanted:
        raise BuildError(f"runtime-provided packages ended up in the layer: {unwanted}")
    if (normalize(POWERTOOLS) in present) != with_powertools:
        raise BuildError(f"{POWERTOOLS} {'missing from' if with_powertools else 'found in'} the layer")
    if not (python_dir / "statsig_lite" / "data" / "example_snapshot.json").is_file():
        raise BuildError("statsig_lite/data/example_snapshot.json is missing: package data not installed")


def write_zip(root: Path, zip_path: Path) -> dict[str, int]:
    """Zip ``root``'s contents deterministically; return each file's compressed size by archive path."""
    files = sorted(
        (p for p in root.rglob("*") if p.is_file() and not p.is_symlink()), key=lambda p: p.relative_to(root).as_posix()
    )
    compressed: dict[str, int] = {}
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for path in files:  # no directory entries: unzip (and Lambda) create parents from the file paths
            name = path.relative_to(root).as_posix()
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        for info in archive.infolist():
            compressed[info.filename] = info.compress_size
    os.replace(partial, zip_path)
    return compressed


def size_by_distribution(
    root: Path, dists: list[Distribution], compressed: dict[str, int]
) -> tuple[list[Distribution], int, int]:
    owner = {path: dist for dist in dists for path in dist.files}
    other = Distribution("(not in any RECORD)", "")
    total = files = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        size = path.stat().st_size
        total += size
        files += 1
        dist = owner.get(name, other)
        dist.unzipped += size
        dist.zipped += compressed.get(name, 0)
    listed = sorted(dists + ([other] if other.unzipped else []), key=lambda d: -d.zipped)
    return listed, total, files


def interpreter_version(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_interpreter(version: str, given: dict[str, str]) -> str | None:
    """A CPython ``version`` interpreter: --interpreter, this one, ``pythonX.Y`` on PATH, pyenv, /usr(/local)."""
    if version in given:
        return given[version]
    candidates = []
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version and sys.implementation.name == "cpython":
        candidates.append(sys.executable)
    if (on_path := shutil.which(f"python{version}")) is not None:
        candidates.append(on_path)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for candidate in candidates:
        if interpreter_version(candidate) == version:
            return candidate
    return None


def compile_bytecode(python_dir: Path, version: str, interpreter: str) -> list[str]:
    """Run bytecode.py with the runtime's interpreter over ``python_dir``; return the pycs it wrote."""
    # Isolated by hand rather than with -I, which would also ignore PYTHONHASHSEED: Python 3.10 marshals a
    # frozenset constant (`x in {"a", "b"}`) in its hash order, so a fixed seed keeps its byte code reproducible.
    command = [interpreter, "-s", "-S", "-B", "-X", "no_debug_ranges", str(BYTECODE_SCRIPT), str(python_dir)]
    environment = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=environment)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise BuildError(f"compiling byte code with {interpreter} failed (exit {done.returncode}):\n{tail}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    tag = "cpython-" + version.replace(".", "")
    if answer["cache_tag"] != tag or answer["version"] != version:
        raise BuildError(f"{interpreter} is {answer['version']} ({answer['cache_tag']}), not CPython {version}")
    compiled: list[str] = answer["compiled"]
    stray = {str(p.relative_to(python_dir)) for p in python_dir.rglob("*.pyc")} - set(compiled)
    if stray or not all(name.endswith(f".{tag}.pyc") for name in compiled):
        raise BuildError(f"unexpected byte code in the tree: {sorted(stray)[:5]}")
    return compiled


@dataclass
class Tree:
    """One installed, stripped, checked layer tree (one per variant), before byte code."""

    with_powertools: bool
    root: Path  # holds python/
    dists: list[Distribution]
    removed: dict[str, int]


def install_tree(with_powertools: bool, workdir: Path, source: Path, wheel: Path) -> Tree:
    requirements = [
        r for r in project_requirements(source) if with_powertools or requirement_name(r) != normalize(POWERTOOLS)
    ]
    scratch = Path(tempfile.mkdtemp(prefix="layer-", dir=workdir))
    pins = resolve_everywhere(requirements, scratch)
    layer_root = scratch / "layer"
    python_dir = layer_root / "python"
    install([p for p in pins if p.name not in RUNTIME_PROVIDED], wheel, python_dir)
    dists = read_distributions(python_dir)
    removed = strip(python_dir)
    removed.update(slim_sources(python_dir))
    check_tree(python_dir, with_powertools)
    return Tree(with_powertools, layer_root, dists, removed)


def runtime_tree(tree: Tree, python: str, interpreter: str | None, dest: Path) -> tuple[Path, str]:
    """A copy of ``tree`` at ``dest`` with ``python``'s byte code; the copy and what byte code it got."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(tree.root, dest)
    if interpreter is None:
        return dest, f"none: no CPython {python} interpreter found"
    compiled = compile_bytecode(dest / "python", python, interpreter)
    return dest, f"cpython-{python.replace('.', '')}: {len(compiled)} modules"


def build_layer(tree: Tree, python: str, interpreter: str | None, out: Path, workdir: Path) -> LayerResult:
    started = time.monotonic()
    variant = "with Powertools" if tree.with_powertools else "without Powertools"
    root, bytecode = runtime_tree(tree, python, interpreter, workdir / f"runtime-{tree.with_powertools}-{python}")
    zip_path = out / zip_name(tree.with_powertools, python)
    compressed = write_zip(root, zip_path)
    budget = POWERTOOLS_BUDGET_BYTES if tree.with_powertools else LEAN_BUDGET_BYTES
    if zip_path.stat().st_size > budget and interpreter is not None:
        # Over budget: give up the byte code that matters least (see BYTECODE_LAST), in order, and say so.
        full = zip_path.stat().st_size
        tag = f"cpython-{python.replace('.', '')}"
        dropped: list[str] = []
        estimate = full
        for module in BYTECODE_LAST:
            folder, _, file = module.rpartition("/")
            pyc = root / "python" / f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc"
            if not pyc.exists():
                continue
            # estimate from the compressed sizes seen so far; rezip only when the estimate says it fits
            saved = compressed.pop(f"python/{folder}/__pycache__/{file[:-3]}.{tag}.pyc", 0)
            pyc.unlink()
            dropped.append(module)
            estimate -= saved + 2 * len(pyc.as_posix())  # its data, and its name in two zip headers
            if estimate <= budget or module == BYTECODE_LAST[-1]:
                compressed = write_zip(root, zip_path)
                if zip_path.stat().st_size <= budget:
                    break
        left = bytecode.split(": ")[0]
        count = int(bytecode.split(": ")[1].split()[0]) - len(dropped)
        bytecode = (f"{left}: {count} modules (not {', '.join(dropped)}: with them the zip would be "
                    f"{full:,} bytes, over the budget)")
    dists = [Distribution(d.name, d.version, list(d.files)) for d in tree.dists]
    for dist in dists:  # a module's byte code belongs to the distribution of its source
        dist.files += [cached for path in dist.files if path.endswith(".py") for cached in _pycs(root, path, python)]
    listed, unzipped, files = size_by_distribution(root, dists, compressed)
    result = LayerResult(
        variant=variant,
        python=python,
        bytecode=bytecode,
        zip_path=zip_path,
        zipped=zip_path.stat().st_size,
        unzipped=unzipped,
        files=files,
        sha256=hashlib.sha256(zip_path.read_bytes()).hexdigest(),
        budget=budget,
        distributions=listed,
        removed=tree.removed,
        seconds=time.monotonic() - started,
    )
    zip_path.with_suffix(".json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def _pycs(root: Path, source: str, python: str) -> list[str]:
    folder, _, name = source.rpartition("/")
    cached = f"{folder}/__pycache__/{name[:-3]}.cpython-{python.replace('.', '')}.pyc"
    return [cached] if (root / cached).is_file() else []


def mb(n: int) -> str:
    return f"{n / 1_000_000:.3f} MB / {n / MIB:.3f} MiB"


def report(result: LayerResult) -> str:
    verdict = "within" if result.zipped <= result.budget else "OVER"
    lines = [
        f"{result.zip_path}  ({result.variant}, Python {result.python}, {result.seconds:.1f} s)",
        f"  zipped    {result.zipped:>10,} bytes  ({mb(result.zipped)}), {verdict} the budget of "
        f"{result.budget:,} bytes",
        f"  unzipped  {result.unzipped:>10,} bytes  ({mb(result.unzipped)}) in {result.files} files",
        f"  byte code {result.bytecode}",
        f"  sha256    {result.sha256}",
        "  one zip for x86_64 and arm64: every dependency is a pure-Python (*-none-any) wheel, resolved identically "
        f"for both on CPython {TARGET_PYTHONS[0]}-{TARGET_PYTHONS[-1]}",
        "  removed   " + ", ".join(f"{count} {kind}" for kind, count in result.removed.items() if count),
        f"  {'distribution':<28}{'version':<12}{'unzipped':>12}{'zipped':>12}",
    ]
    for dist in result.distributions:
        lines.append(f"  {dist.name:<28}{dist.version:<12}{dist.unzipped:>12,}{dist.zipped:>12,}")
    return "\n".join(lines)


def parse_interpreters(values: Sequence[str]) -> dict[str, str]:
    given = {}
    for value in values:
        version, equals, path = value.partition("=")
        if not equals or version not in TARGET_PYTHONS:
            raise BuildError(f"--interpreter {value!r}: use X.Y=/path/to/pythonX.Y with X.Y in {TARGET_PYTHONS}")
        given[version] = path
    return given


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--with-powertools", action="store_true", help="also bundle aws-lambda-powertools")
    group.add_argument("--all", action="store_true", help="build both variants")
    parser.add_argument("--python", action="append", choices=(*TARGET_PYTHONS, "all"),
                        help=f"runtime(s) to build for, repeatable (default {DEFAULT_PYTHON}; all: {TARGET_PYTHONS})")
    parser.add_argument("--interpreter", action="append", default=[], metavar="X.Y=PATH",
                        help="the CPython X.Y to compile that runtime's byte code with (default: found on PATH/pyenv)")
    parser.add_argument("--bytecode", choices=("required", "optional"), default="required",
                        help="without a runtime's interpreter: stop (required, default) or ship it without byte code")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--tree", type=Path, default=None,
                        help="write the unzipped layer (python/...) into this folder instead of a zip (sam build)")
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="checkout to build (default: this one)")
    args = parser.parse_args(argv)  # fmt: skip
    variants = [False, True] if args.all else [args.with_powertools]
    chosen = args.python or [DEFAULT_PYTHON]
    pythons = list(TARGET_PYTHONS) if "all" in chosen else sorted(set(chosen))
    out = args.out.resolve()
    try:
        if args.tree is not None and (len(variants) != 1 or len(pythons) != 1):
            raise BuildError("--tree builds one variant for one runtime")
        given = parse_interpreters(args.interpreter)
        interpreters = {v: find_interpreter(v, given) for v in pythons}
        missing = sorted(v for v, found in interpreters.items() if found is None)
        if missing and args.bytecode == "required":
            raise BuildError(
                f"no CPython {', '.join(missing)} interpreter to compile the byte code with (looked on PATH as "
                "pythonX.Y, in pyenv, /usr/bin, /usr/local/bin): install it, pass --interpreter X.Y=PATH, or "
                "--bytecode optional to ship that runtime's layer without byte code (slower cold starts)"
            )
        for version in missing:
            print(f"layers/build.py: WARNING: no CPython {version} found: its layer has no byte code", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="statsig-lite-layer-") as tmp:
            workdir = Path(tmp)
            source = copy_sources(args.source.resolve(), workdir / "src")
            wheel = build_wheel(source, workdir)
            trees = [install_tree(v, workdir, source, wheel) for v in variants]
            if args.tree is not None:
                dest = args.tree.resolve()
                root, bytecode = runtime_tree(trees[0], pythons[0], interpreters[pythons[0]], workdir / "tree")
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copytree(root / "python", dest / "python", dirs_exist_ok=True)
                print(f"{dest}/python: layer tree for Python {pythons[0]}, byte code {bytecode}")
                return 0
            results = [build_layer(t, v, interpreters[v], out, workdir) for t in trees for v in pythons]
    except BuildError as exc:
        print(f"layers/build.py: {exc}", file=sys.stderr)
        return 1
    print("\n\n".join(report(r) for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
