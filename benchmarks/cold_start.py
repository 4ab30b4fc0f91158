"""Cold start as deployed: what statsig_lite's layer adds to a Lambda cold start, against statsig-python-core.

    .venv/bin/python benchmarks/cold_start.py [sandboxes per variant, default 15] [--profile] [--floor]

Every sample is a fresh sandbox: `python -m awslambdaric app.handler` against the loopback Runtime API of
tests/servers/lambda_runtime.py (the runtime Lambda's Python images run), timed from the process start until
the first invocation's response arrives (Lambda's Init Duration + the first Duration). Per function kind:

  base   the function without an SDK
  lite   + statsig_lite from the *built layer zip*, unzipped into a read-only opt/ folder that comes before the
         venv on sys.path (as /opt/python does), byte code as shipped (PYTHONDONTWRITEBYTECODE=1: nothing is
         compiled and kept); `@statsig_handler`, rules from the function's bundled snapshot, one check_gate,
         the flush to a loopback log_event sink before the response
  core   + statsig-python-core from its wheel (the dev dependency in this venv, byte code as pip wrote it),
         initialized at import from the same snapshot through a data store, one check_gate, its flush

Function kinds: ``empty`` (a handler that imports nothing) and ``typical`` (boto3 and a Powertools Logger
already imported, as most functions do). Powertools and boto3 come from this venv in every variant (AWS's
managed Powertools layer and the runtime's boto3 on Lambda). What an SDK adds = its median - base's median;
the target is statsig_lite <= 0.5x what core adds, in both kinds. Variants run interleaved, so machine noise
hits all alike. ``--profile`` adds five `-X importtime` sandboxes of lite in each kind and prints where the
import time goes (medians), as a partition (each module's own time counted once, in the group of its nearest enclosing
group member): our modules, urllib3 and what only it loads, http.client + email, ssl, importlib.metadata
(which urllib3's http2 package imports), idna, Powertools.

``--floor`` adds functions that do only what the first flush cannot avoid, without statsig_lite, from the same
layer folder: ``u3-import`` imports the layer's urllib3, ``u3-post`` posts one gzip'd event to the same sink with
a urllib3 PoolManager (the brief mandates urllib3 for HTTP), ``hc-post`` does it with the standard library's
http.client. What they add is the least any urllib3 (or any Python HTTP) client adds to that cold start.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.servers.lambda_runtime import LambdaProcess  # noqa: E402

SECRET = "secret-cold-start"
HERE_PYTHON = "{}.{}".format(*sys.version_info[:2])
TYPICAL = "import boto3\nfrom aws_lambda_powertools import Logger\nlogger = Logger()\n"
BASE = "def handler(event, context):\n    return {'on': None}\n"
LITE = textwrap.dedent(
    """
    from statsig_lite import StatsigUser, statsig, statsig_handler

    @statsig_handler
    def handler(event, context):
        return {"on": statsig.check_gate(StatsigUser(user_id="u1"), "new_checkout")}
    """
)
CORE = textwrap.dedent(
    """
    import os
    import statsig_python_core as core

    with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "statsig_snapshot.json")) as f:
        SPECS = f.read()

    class Store(core.DataStore):
        def get(self, key):
            return core.DataStoreResponse(result=SPECS, time=None)

    API = os.environ["STATSIG_API_URL"]
    statsig = core.Statsig(os.environ["STATSIG_SERVER_SECRET"], core.StatsigOptions(
        data_store=Store(), specs_url=API.replace("/v1/", "/v2/") + "download_config_specs",
        log_event_url=API + "log_event", id_lists_url=API + "get_id_lists", specs_sync_interval_ms=3600000,
        output_log_level="error"))
    statsig.initialize().wait()

    def handler(event, context):
        on = statsig.check_gate(core.StatsigUser("u1"), "new_checkout")
        statsig.flush_events().wait()
        return {"on": on}
    """
)
FLOOR = {
    "u3-import": "import urllib3\n\ndef handler(event, context):\n    return {'on': True}\n",
    "u3-post": textwrap.dedent(
        """
        import gzip, json, os

        def handler(event, context):
            import urllib3

            pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=1.0, read=1.0))
            body = gzip.compress(json.dumps({"events": [{"eventName": "floor"}]}).encode())
            response = pool.request("POST", os.environ["STATSIG_API_URL"] + "log_event", body=body,
                                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
            return {"on": response.status == 202}
        """
    ),
    "hc-post": textwrap.dedent(
        """
        import gzip, json, os

        def handler(event, context):
            import http.client
            from urllib.parse import urlsplit

            url = urlsplit(os.environ["STATSIG_API_URL"] + "log_event")
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=1.0)
            body = gzip.compress(json.dumps({"events": [{"eventName": "floor"}]}).encode())
            connection.request("POST", url.path, body=body,
                               headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
            response = connection.getresponse()
            response.read()
            return {"on": response.status == 202}
        """
    ),
}
KINDS = {"empty": "", "typical": TYPICAL}
SDKS = {"base": BASE, "lite": LITE, "core": CORE}
USES_LAYER = ("lite", *FLOOR)  # the variants that find the layer folder on sys.path (as /opt/python)


def build_layer(out: Path) -> Path:
    """The lean layer zip for this interpreter's runtime, built by layers/build.py from this checkout."""
    done = subprocess.run(
        [sys.executable, str(REPO / "layers" / "build.py"), "--python", HERE_PYTHON, "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"layers/build.py failed:\n{done.stdout}\n{done.stderr}")
    for line in done.stdout.splitlines()[:5]:
        print(line)
    return out / f"statsig-lite-layer-python{HERE_PYTHON}.zip"


def unzip_read_only(zip_path: Path, opt: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(opt)
    for path in opt.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    opt.chmod(0o555)
    return listing(opt)


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def make_task(root: Path, kind: str, sdk: str) -> Path:
    task = root / f"{kind}-{sdk}"
    task.mkdir()
    (task / "app.py").write_text(KINDS[kind] + {**SDKS, **FLOOR}[sdk])
    dcs = resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_bytes()
    if sdk == "lite":  # what `python -m statsig_lite pull` bundles: the rules and their (here: no) ID lists
        from statsig_lite.store.envelope import encode_snapshot

        document = encode_snapshot(json.loads(dcs), {}, created_at=int(time.time() * 1000))
    else:  # core reads the download_config_specs payload itself
        document = dcs
    (task / "statsig_snapshot.json").write_bytes(document)  # the function's bundled rules
    return task


def cpu_ms(pid: int) -> float:
    """CPU time the process's threads have run so far (schedstat, ns): unlike wall time, not inflated by waiting
    for a core on a busy machine, and it counts the work of an SDK's background threads too."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e6


def cold_start(
    task: Path, sdk: str, opt: Path, api: str, extra: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """One fresh sandbox: wall ms from the process start to the first response, CPU ms the process used until
    then, and the process output."""
    path = [str(task), str(opt / "python")] if sdk in USES_LAYER else [str(task)]
    env = {
        "PYTHONPATH": os.pathsep.join(path),  # the venv's site-packages follow: runtime boto3, Powertools layer
        "PYTHONDONTWRITEBYTECODE": "1",
        "STATSIG_SERVER_SECRET": SECRET,
        "STATSIG_API_URL": api,
        "STATSIG_SPEC_SOURCE": "bundled",
        "POWERTOOLS_SERVICE_NAME": "cold-start",
        **(extra or {}),
    }
    fn = LambdaProcess("app.handler", task, env=env, ready_timeout_s=60)
    started = time.monotonic()
    fn.start()
    try:
        result = fn.invoke({}, timeout_ms=10_000)
        cpu = cpu_ms(fn.pid)
    finally:
        fn.stop()
    if not result.ok or (sdk != "base" and result.body not in ({"on": True}, {"on": False})):
        raise SystemExit(f"{task.name}: unexpected answer {result.body!r}\n{fn.output()[-3000:]}")
    return (result.received_at - started) * 1000, cpu, fn.output()


def parse_importtime(output: str) -> list[tuple[int, int, str, list[str]]]:
    """-X importtime lines as (self us, cumulative us, module, ancestors), in the order they were printed."""
    entries = []
    for line in output.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        if not own.strip().isdigit():
            continue  # the header line
        depth = (len(name) - len(name.lstrip())) // 2
        entries.append((int(own), int(cumulative), name.strip(), depth))
    # printed children first: walk backwards, keeping the chain of enclosing imports
    result: list[tuple[int, int, str, list[str]]] = []
    chain: list[tuple[int, str]] = []
    for own, cumulative, name, depth in reversed(entries):
        while chain and chain[-1][0] >= depth:
            chain.pop()
        result.append((own, cumulative, name, [n for _, n in chain]))
        chain.append((depth, name))
    return result[::-1]


PROFILE_GROUPS = {
    "statsig_lite (our modules)": ("statsig_lite",),
    "urllib3 (its modules, and what only it loads)": ("urllib3",),
    "http.client + email": ("http", "email"),
    "ssl": ("ssl", "_ssl"),
    "importlib.metadata (urllib3.http2 imports it)": ("importlib.metadata",),
    "idna (urllib3 encodes the host)": ("encodings.idna", "stringprep", "unicodedata"),
    "Powertools": ("aws_lambda_powertools",),
}


PROFILE_SANDBOXES = 5


def _member(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def import_profile(outputs: list[str]) -> list[str]:
    """Where the import time of lite's sandboxes goes, from statsig_lite's first module on (what the function
    imported before it, boto3 and Powertools in the typical kind, is not ours): every module's own time counted
    once, in the group of the module itself or of its nearest enclosing import that belongs to a group (so the
    groups add up). Medians over the sandboxes (single -X importtime runs swing on a busy machine)."""
    runs = []
    for output in outputs:
        entries = parse_importtime(output)
        first = next(i for i, (_, _, name, ancestors) in enumerate(entries)
                     if any(_member(n, ("statsig_lite",)) for n in (name, *ancestors)))  # fmt: skip
        totals = dict.fromkeys(PROFILE_GROUPS, 0)
        for own, _, name, ancestors in entries[first:]:
            for candidate in (name, *reversed(ancestors)):  # nearest first
                group = next((g for g, prefixes in PROFILE_GROUPS.items() if _member(candidate, prefixes)), None)
                if group is not None:
                    totals[group] += own
                    break
        runs.append((totals, entries[first:]))
    lines = [
        f"    {label:<66}{statistics.median(t[label] for t, _ in runs) / 1000:7.1f} ms own time"
        for label in PROFILE_GROUPS
    ]
    totals, entries = sorted(runs, key=lambda r: sum(r[0].values()))[len(runs) // 2]  # the median sandbox
    ours = sorted(((own, name) for own, _, name, _ in entries if _member(name, ("statsig_lite",))), reverse=True)
    lines.append("    our heaviest modules (own time, median sandbox): "
                 + ", ".join(f"{n} {us / 1000:.1f}" for us, n in ours[:6]))
    return lines


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = int(args[0]) if args else 15
    profile = "--profile" in sys.argv
    sdks = [*SDKS, *(FLOOR if "--floor" in sys.argv else ())]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        root = Path(tmp)
        zip_path = build_layer(root / "build")
        opt = root / "opt"
        shipped = unzip_read_only(zip_path, opt)
        pycs = sum(1 for name in shipped if name.endswith(".pyc"))
        print(f"layer: {zip_path.name}, {zip_path.stat().st_size:,} bytes zipped, {pycs} pycs, unzipped read-only")
        print("load average before the run: " + " / ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)")
        sink = subprocess.Popen([sys.executable, "-m", "statsig_lite.demo_sink"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert sink.stdout is not None
            api = sink.stdout.readline().strip()
            tasks = {(k, s): make_task(root, k, s) for k in KINDS for s in sdks}
            for (_, sdk), task in tasks.items():  # warm the page cache; not counted
                cold_start(task, sdk, opt, api)
            samples: dict[tuple[str, str], list[float]] = {key: [] for key in tasks}
            cpu: dict[tuple[str, str], list[float]] = {key: [] for key in tasks}
            for _ in range(runs):
                for key, task in tasks.items():
                    wall_ms, cpu_used, _ = cold_start(task, key[1], opt, api)
                    samples[key].append(wall_ms)
                    cpu[key].append(cpu_used)
            profiles = {}
            if profile:
                for kind in KINDS:
                    outputs = [cold_start(tasks[(kind, "lite")], "lite", opt, api, {"PYTHONPROFILEIMPORTTIME": "1"})[2]
                               for _ in range(PROFILE_SANDBOXES)]  # fmt: skip
                    profiles[kind] = import_profile(outputs)
        finally:
            sink.terminate()
            sink.wait(timeout=5)
        written = sorted(set(listing(opt)) - set(shipped))
        for path in opt.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)  # let the temporary folder be removed
        opt.chmod(0o755)
    assert not written, f"the runs wrote into the layer folder: {written[:5]}"
    print("load average after the run: " + " / ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)")
    print(f"\ncold start = process start -> first response, {runs} sandboxes per row (awslambdaric, Python "
          f"{HERE_PYTHON}, layer byte code as shipped, nothing written to opt/); wall: elapsed ms, cpu: ms the "
          "sandbox's threads ran (robust on a busy machine); added = median - base's median")
    print(f"{'function':<10}{'sdk':<11}{'wall median':>12}{'min':>8}{'max':>8}{'added':>8}"
          f"{'cpu median':>12}{'min':>8}{'max':>8}{'added':>8}")
    wall_med = {key: statistics.median(v) for key, v in samples.items()}
    cpu_med = {key: statistics.median(v) for key, v in cpu.items()}
    for (kind, sdk) in samples:
        w, c = samples[(kind, sdk)], cpu[(kind, sdk)]
        wall_added = "" if sdk == "base" else f"{wall_med[(kind, sdk)] - wall_med[(kind, 'base')]:>8.1f}"
        cpu_added = "" if sdk == "base" else f"{cpu_med[(kind, sdk)] - cpu_med[(kind, 'base')]:>8.1f}"
        print(f"{kind:<10}{sdk:<11}{wall_med[(kind, sdk)]:>12.1f}{min(w):>8.1f}{max(w):>8.1f}{wall_added:>8}"
              f"{cpu_med[(kind, sdk)]:>12.1f}{min(c):>8.1f}{max(c):>8.1f}{cpu_added:>8}")
    print()
    for kind in KINDS:
        for label, med in (("wall", wall_med), ("cpu", cpu_med)):
            lite = med[(kind, "lite")] - med[(kind, "base")]
            core = med[(kind, "core")] - med[(kind, "base")]
            verdict = "within" if lite <= 0.5 * core else "OVER"
            print(f"{kind:<8} {label:<5} statsig_lite adds {lite:6.1f} ms, statsig-python-core {core:6.1f} ms: "
                  f"ratio {lite / core:.2f} ({verdict} the 0.5 target)")
        if (kind, "u3-post") in cpu_med:
            added = {sdk: cpu_med[(kind, sdk)] - cpu_med[(kind, "base")] for sdk in (*FLOOR, "lite", "core")}
            core = added["core"]
            print(f"{kind:<8} floor (cpu): importing urllib3 adds {added['u3-import']:.1f} ms "
                  f"({added['u3-import'] / core:.2f}x core), one urllib3 POST {added['u3-post']:.1f} ms "
                  f"({added['u3-post'] / core:.2f}x), one http.client POST {added['hc-post']:.1f} ms "
                  f"({added['hc-post'] / core:.2f}x); statsig_lite beyond the urllib3 POST "
                  f"{added['lite'] - added['u3-post']:.1f} ms ({(added['lite'] - added['u3-post']) / core:.2f}x)")
        for line in profiles.get(kind, []):
            print(line)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
