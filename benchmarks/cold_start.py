"""Cold start the decorator adds to a Lambda function, measured in fresh processes (medians).

Variants, each in its own process, timed from the first line of the handler module to the end of the
first invocation (interpreter start-up is the same for all and left out):
  empty     a handler that imports nothing
  deps      imports our declared runtime dependencies' entry points: urllib3 (+ http.client/ssl it pulls in)
            and Powertools' middleware factory
  lite      `@statsig_handler` on the bundled example snapshot: import, init, one invocation with one
            check_gate and the flush to a loopback log_event sink
  lite+b3L  the same in a function that already imports boto3 and a Powertools Logger
  base+b3L  that function without an SDK
  core+b3L  statsig-python-core in that function, initialized at import from the same (v2) snapshot through
            a data store, one check and its flush to the loopback sink
All variants run in the benchmark's own venv (benchmarks/benchenv.py), which holds both SDKs and boto3.
Usage: python benchmarks/cold_start.py [runs]
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PRELUDE = "import time as _t; _T0 = _t.perf_counter()\n"
EPILOGUE = "print(json.dumps({'ms': (_t.perf_counter() - _T0) * 1000}))\n"

CONTEXT = textwrap.dedent(
    """
    class Ctx:
        aws_request_id = "r1"
        function_name = "cold"
        def get_remaining_time_in_millis(self):
            return 3000
    """
)

LITE_HANDLER = (
    "@statsig_handler\ndef handler(e, c):\n"
    "    return {'on': statsig.check_gate(StatsigUser(user_id='u1'), 'new_checkout')}\n"
    "handler({}, Ctx())\n"
)

CORE_HANDLER = textwrap.dedent(
    """
    import os
    from importlib import resources
    import statsig_python_core as core
    SPEC = resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_text()
    class Store(core.DataStore):
        def get(self, key):
            return core.DataStoreResponse(result=SPEC, time=None)
    API = os.environ["STATSIG_API_URL"]
    statsig = core.Statsig("secret-cold", core.StatsigOptions(
        data_store=Store(), specs_url=API.replace("/v1/", "/v2/") + "download_config_specs",
        log_event_url=API + "log_event", id_lists_url=API + "get_id_lists", specs_sync_interval_ms=3600000,
        output_log_level="error"))
    statsig.initialize().wait()
    def handler(e, c):
        on = statsig.check_gate(core.StatsigUser("u1"), "new_checkout")
        statsig.flush_events().wait()
        return {"on": on}
    handler({}, None)
    """
)

VARIANTS = {
    "empty": "import json\ndef handler(e, c):\n    return {'ok': True}\nhandler({}, None)\n",
    "deps": "import json\nimport urllib3, http.client, ssl\n"
    "from aws_lambda_powertools.middleware_factory import lambda_handler_decorator\n"
    "def handler(e, c):\n    return {'ok': True}\nhandler({}, None)\n",
    "lite": "import json\nfrom statsig_lite import StatsigUser, statsig, statsig_handler\n" + CONTEXT
    + LITE_HANDLER,
    "base+b3L": "import json\nimport boto3\nfrom aws_lambda_powertools import Logger\nlogger = Logger()\n"
    "def handler(e, c):\n    return {'ok': True}\nhandler({}, None)\n",
    "lite+b3L": "import json\nimport boto3\nfrom aws_lambda_powertools import Logger\nlogger = Logger()\n"
    "from statsig_lite import StatsigUser, statsig, statsig_handler\n" + CONTEXT
    + LITE_HANDLER,
    "core+b3L": "import json\nimport boto3\nfrom aws_lambda_powertools import Logger\nlogger = Logger()\n"
    + CORE_HANDLER,
}


def _sink() -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "statsig_lite.demo_sink"], stdout=subprocess.PIPE, text=True)


def run_once(python: str, source: str, env: dict[str, str]) -> float:
    out = subprocess.run([python, "-c", PRELUDE + source + EPILOGUE], capture_output=True, text=True,
                         env=env, check=True, cwd="/tmp").stdout
    return float(json.loads(out.strip().splitlines()[-1])["ms"])


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from benchenv import ensure_venv

    python = str(ensure_venv())
    # every dependency in the venv has byte code from pip; give ours the same (this machine sets
    # PYTHONDONTWRITEBYTECODE, which would otherwise make us compile from source in every run)
    compileall.compile_dir(str(REPO / "statsig_lite"), quiet=1)
    sink = _sink()
    try:
        assert sink.stdout is not None
        api = sink.stdout.readline().strip()
        env = {**os.environ, "STATSIG_SERVER_SECRET": "secret-cold", "STATSIG_API_URL": api,
               "STATSIG_SPEC_SOURCE": "bundled", "PYTHONPATH": str(REPO)}
        results = {}
        for _ in range(2):  # warm the file system cache and byte code
            for source in VARIANTS.values():
                run_once(python, source, env)
        samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(runs):  # interleaved, so machine noise hits every variant alike
            for name, source in VARIANTS.items():
                samples[name].append(run_once(python, source, env))
        results = {name: statistics.median(values) for name, values in samples.items()}
    finally:
        sink.terminate()
        sink.wait(timeout=5)
    for name, value in results.items():
        print(f"{name:9s} {value:7.1f} ms (median of {runs})")
    print(f"added by statsig_lite over its dependencies: {results['lite'] - results['deps']:.1f} ms"
          f" (target <= 15 ms)")
    lite_added = results["lite+b3L"] - results["base+b3L"]
    core_added = results["core+b3L"] - results["base+b3L"]
    print(f"added in a boto3+Logger function: statsig_lite {lite_added:.1f} ms, statsig-python-core "
          f"{core_added:.1f} ms, ratio {lite_added / core_added:.2f} (target <= 0.5)")


if __name__ == "__main__":
    main()
