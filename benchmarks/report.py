"""Turn the drivers' JSON results into benchmarks/RESULTS.md: medians over runs, ratios, targets, digest."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Runs = list[dict[str, Any]]
Extract = Callable[[dict[str, Any]], "float | None"]

LABELS = {"lite-v1": "statsig_lite (v1)", "lite-v2": "statsig_lite (v2)", "core": "statsig-python-core",
          "legacy": "statsig (legacy)"}
CALLS = {"gate": "check_gate", "config": "get_config", "experiment": "get_experiment", "layer": "get_layer + get"}


# ------------------------------------------------------------------------------------- metrics
def _get(path: str, scale: float = 1.0) -> Extract:
    def extract(r: dict[str, Any]) -> float | None:
        node: Any = r
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return None if node is None else float(node) * scale
    return extract


def _import_init(r: dict[str, Any]) -> float | None:
    if r.get("import_s") is None or r.get("init_s") is None:
        return None
    return (r["import_s"] + r["init_s"]) * 1e3


def _exposures(r: dict[str, Any]) -> float | None:
    events = r.get("server", {}).get("events", {})
    return float(sum(v for k, v in events.items() if k.endswith("_exposure")))


@dataclass(frozen=True)
class Row:
    title: str
    extract: Extract
    targets: dict[str, float] | None = None  # {preset: highest allowed ratio lite / core}
    ratios: bool = True                      # False where a ratio means nothing
    integer: bool = False


def metric_rows() -> list[Row]:
    rows = [
        Row("import (ms)", _get("import_s", 1e3)),
        Row("init from in-process snapshot (ms)", _get("init_s", 1e3), {"large": 0.6}),
        Row("import + init (ms)", _import_init, {"small": 0.5}),
        Row("first check_gate after init (µs)", _get("first_check_s", 1e6), {"small": 1.0, "large": 1.0}),
        Row("RSS before import (MiB)", _get("rss_before_import_kib", 1 / 1024)),
        Row("RSS after init (MiB)", _get("rss_after_init_kib", 1 / 1024), {"small": 0.6, "large": 0.6}),
        Row("RSS after first check + 0.5 s idle (MiB)", _get("rss_settled_kib", 1 / 1024)),
        Row("RSS after the driver loaded its users and call lists (MiB)", _get("rss_after_data_kib", 1 / 1024)),
        Row("RSS at end (MiB)", _get("rss_end_kib", 1 / 1024)),
        Row("peak RSS (MiB)", _get("rss_peak_kib", 1 / 1024)),
    ]
    for kind, call in CALLS.items():
        for mode, words in (("on", "logging on"), ("off", "logging off")):
            rows.append(Row(f"{call} median (µs), {words}", _get(f"latency.{kind}/{mode}.median_ns", 1e-3),
                            {"small": 1.0, "large": 1.0}))
            rows.append(Row(f"{call} p99 (µs), {words}", _get(f"latency.{kind}/{mode}.p99_ns", 1e-3),
                            {"small": 1.0, "large": 1.0}))
    rows.append(Row("timing loop overhead, median (µs)", _get("latency.loop_overhead.median_ns", 1e-3),
                    ratios=False))
    for algo in ("djb2", "sha256"):
        rows.append(Row(f"get_client_initialize_response {algo}, call (ms)",
                        _get(f"gcir.{algo}.call.median_ns", 1e-6)))
        rows.append(Row(f"get_client_initialize_response {algo} → JSON text (ms)",
                        _get(f"gcir.{algo}.json_text.median_ns", 1e-6), {"small": 1.0, "large": 1.0}))
    rows.append(Row("get_client_initialize_response djb2, JSON size (KiB)", _get("gcir.djb2.bytes", 1 / 1024),
                    ratios=False))
    rows += [
        Row("shutdown (ms)", _get("shutdown_s", 1e3)),
        Row("exposure events received by the loopback server", _exposures, ratios=False, integer=True),
        Row("events the SDK reported dropping", _get("dropped_events"), ratios=False, integer=True),
    ]
    return rows


def median_of(runs: Runs, extract: Extract) -> float | None:
    values = [v for v in (extract(r) for r in runs if "fatal" not in r) if v is not None]
    return statistics.median(values) if values else None


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


# ------------------------------------------------------------------------------------- sections
def machine() -> list[str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return [
        f"- CPU: {model}, {os.cpu_count()} cores",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"Linux {platform.release()}",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


def versions(meta: dict[str, Any], results: dict[str, dict[str, Runs]]) -> list[str]:
    lines = []
    for label in LABELS:
        found = next((r.get("version") for runs in results.values() for r in runs.get(label, []) if r.get("version")),
                     None)
        if label == "lite-v1":
            lines.append(f"- statsig_lite: {meta.get('lite_source', '?')}, copied at the start of the run; "
                         f"{found or 'not importable (see Errors)'}")
        elif label != "lite-v2":
            lines.append(f"- {LABELS[label]}: {found or 'not importable (see Errors)'}")
    return lines


def table(preset: str, by_label: dict[str, Runs]) -> list[str]:
    head = ["metric", *(LABELS[k] for k in LABELS), "lite(v2) / core", "lite(v1) / legacy", "target", "pass/miss"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 3) + ["---"] * 2) + "|"]
    for row in metric_rows():
        med = {k: median_of(by_label.get(k, []), row.extract) for k in LABELS}
        if all(v is None for v in med.values()):
            continue
        target = (row.targets or {}).get(preset)
        status = ""
        if target is not None:
            worst = [ratio(med[k], med["core"]) for k in ("lite-v1", "lite-v2")]
            if any(w is None for w in worst):
                status = "n/a"
            else:
                status = "pass" if max(w for w in worst if w is not None) <= target else "**miss**"
        show = (lambda x: "-" if x is None else f"{x:,.0f}") if row.integer else fmt
        r_core = fmt_ratio(ratio(med["lite-v2"], med["core"])) if row.ratios else ""
        r_legacy = fmt_ratio(ratio(med["lite-v1"], med["legacy"])) if row.ratios else ""
        cells = [row.title, *(show(med[k]) for k in LABELS), r_core, r_legacy,
                 f"<= {target:.1f}x core" if target is not None else "", status]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# The figures of issue #16's table, in its order: (title, metric row title, target ratio lite / core or None)
ISSUE_FIGURES = [
    ("check_gate median, logging off", "check_gate median (µs), logging off", 1.0),
    ("check_gate median, logging on", "check_gate median (µs), logging on", 1.0),
    ("get_config median, logging on", "get_config median (µs), logging on", 1.0),
    ("check_gate p99, logging off", "check_gate p99 (µs), logging off", 1.0),
    ("check_gate p99, logging on", "check_gate p99 (µs), logging on", 1.0),
    ("GCIR (djb2) to JSON text", "get_client_initialize_response djb2 → JSON text (ms)", 1.0),
    ("RSS after init", "RSS after init (MiB)", 0.6),
    ("first check after init", "first check_gate after init (µs)", 1.0),
    ("shutdown delivering the run's exposures (ms)", "shutdown (ms)", None),
]


def summary_section(meta: dict[str, Any], results: dict[str, dict[str, Runs]]) -> list[str]:
    """Issue #16's figures for both specs and both payloads (lite on v1 and on v2, each against the core), then
    how many of all check rows (medians and p99, logging on and off) are within the core, then exposure delivery."""
    rows = {row.title: row for row in metric_rows()}
    lines = ["| figure | spec | lite (v1) | lite (v2) | core | lite(v1) / core | lite(v2) / core | target | "
             "pass/miss |", "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for title, row_title, target in ISSUE_FIGURES:
        for preset, by_label in results.items():
            med = {k: median_of(by_label.get(k, []), rows[row_title].extract) for k in ("lite-v1", "lite-v2", "core")}
            r1, r2 = ratio(med["lite-v1"], med["core"]), ratio(med["lite-v2"], med["core"])
            status = ""
            if target is not None:
                status = "n/a" if r1 is None or r2 is None else ("pass" if max(r1, r2) <= target else
                                                                  f"**miss** (by {max(r1, r2) / target - 1:.0%})")
            lines.append(f"| {title} | {preset} | {fmt(med['lite-v1'])} | {fmt(med['lite-v2'])} | "
                         f"{fmt(med['core'])} | {fmt_ratio(r1)} | {fmt_ratio(r2)} | "
                         f"{f'<= {target:.1f}x' if target is not None else ''} | {status} |")
    lines += ["", "Every check row of the spec tables (4 APIs x median and p99 x logging on and off = 16 per payload), "
              "statsig_lite on both payloads against the core:", ""]
    for preset, by_label in results.items():
        within = total = 0
        worst: tuple[float, str] = (0.0, "")
        for kind in CALLS:
            for mode in ("on", "off"):
                for stat in ("median_ns", "p99_ns"):
                    extract = _get(f"latency.{kind}/{mode}.{stat}")
                    core = median_of(by_label.get("core", []), extract)
                    for label in ("lite-v1", "lite-v2"):
                        r = ratio(median_of(by_label.get(label, []), extract), core)
                        if r is None:
                            continue
                        total += 1
                        within += r <= 1.0
                        if r > worst[0]:
                            worst = (r, f"{CALLS[kind]} {stat[:-3].replace('_', ' ')}, logging {mode}, {label}")
        lines.append(f"- {preset}: {within} of {total} within 1.0x core; the highest is {worst[0]:.2f}x "
                     f"({worst[1]})")
    data = meta.get("flush_data") or {}
    if data:
        lines += ["", "Exposure delivery (`benchmarks/flush.py`, v2 payload, medians; see below): statsig_lite's "
                  "build + JSON encoding rate against the rate at which the core delivers them (its checks + "
                  "flush), and each SDK's flush to the loopback API:", "",
                  "| spec | events | lite: encoded events/s | core: delivered events/s (checks + flush) | "
                  "lite encoding / core delivery | lite: flush (ms) | core: flush (ms) | "
                  "lite / core (checks + flush) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for preset, by_n in data.items():
            for n, m in by_n.items():
                events = int(n)
                enc, delivered = events / m["encode"] * 1000, events / m["core total"] * 1000
                lines.append(f"| {preset} | {events:,} | {enc:,.0f} | {delivered:,.0f} | {enc / delivered:.1f}x | "
                             f"{m['lite']:.2f} | {m['core']:.2f} | {m['lite total'] / m['core total']:.2f}x |")
    return lines


def digest_section(preset: str, grid: list[list[str]], by_label: dict[str, Runs]) -> list[str]:
    answers: dict[str, list[str]] = {}
    for label, runs in by_label.items():
        got = next((r["digest_answers"] for r in runs if "digest_answers" in r), None)
        if got is not None:
            answers[label] = got
    if not answers:
        return ["No SDK produced a digest."]
    n_pairs = len(next(iter(answers.values())))
    lines = [f"{n_pairs:,} (user, name) pairs: every entity of the spec plus one unknown name per kind, "
             f"each with value + rule_id (logging off).", "",
             "| SDK | digest | evaluation errors |", "|---|---|---:|"]
    for label, got in answers.items():
        digest = hashlib.sha256("\n".join(got).encode()).hexdigest()[:16]
        errors = sum(1 for a in got if a.startswith("error:"))
        lines.append(f"| {LABELS[label]} | `{digest}` | {errors} |")
    for label, missing in ((k, k not in answers) for k in LABELS):
        if missing:
            lines.append(f"| {LABELS[label]} | (no digest: failed before or during the digest) | |")
    lines.append("")
    pairs = [("lite-v1", "legacy"), ("lite-v2", "core"), ("lite-v1", "core"), ("lite-v2", "legacy"),
             ("core", "legacy")]
    for a, b in pairs:
        if a not in answers or b not in answers:
            continue
        diffs = [i for i, (x, y) in enumerate(zip(answers[a], answers[b], strict=True)) if x != y]
        if not diffs:
            lines.append(f"- {LABELS[a]} vs {LABELS[b]}: identical")
            continue
        lines.append(f"- {LABELS[a]} vs {LABELS[b]}: **{len(diffs):,} mismatches** of {n_pairs:,}, e.g.")
        for i in diffs[:4]:
            user = i // len(grid)
            kind, name, _param = grid[i % len(grid)]
            lines.append(f"  - user #{user} {kind} `{name}`: `{answers[a][i]}` vs `{answers[b][i]}` "
                         "(value sha1 prefix | rule_id)")
    return lines


def errors_section(results: dict[str, dict[str, Runs]]) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for preset, by_label in results.items():
        for label, runs in by_label.items():
            for r in runs:
                problems = ([f"fatal: {r['fatal']}", *r.get("trace", [])[-2:]] if "fatal" in r else [])
                problems += [f"{e['phase']}: {e['error']}" for e in r.get("errors", [])]
                if r.get("digest_errors"):
                    problems.append(f"digest: {r['digest_errors']} evaluations raised")
                unexpected = r.get("server", {}).get("unexpected", [])
                if unexpected:
                    problems.append(f"unexpected requests to the loopback server: {unexpected[:3]}")
                for p in problems:
                    key = f"{label}:{p}"
                    if key not in seen:
                        seen.add(key)
                        lines.append(f"- {LABELS[label]}, {preset} spec: {p}")
    return lines or ["None."]


def network_section(results: dict[str, dict[str, Runs]]) -> list[str]:
    lines = ["| SDK | spec | requests to the loopback server (first run) | events received | SDK reports |",
             "|---|---|---|---|---|"]
    for preset, by_label in results.items():
        for label, runs in by_label.items():
            if not runs:
                continue
            server = runs[0].get("server", {})
            req = ", ".join(f"{k} x{v}" for k, v in sorted(server.get("requests", {}).items())) or "none"
            ev = ", ".join(f"{k.replace('statsig::', '')} x{v}" for k, v in sorted(server.get("events", {}).items()))
            notes = list(dict.fromkeys(server.get("reports", [])))
            if runs[0].get("dropped_events"):
                notes.insert(0, f"stderr: dropped {runs[0]['dropped_events']:,} events")
            lines.append(f"| {LABELS[label]} | {preset} | {req} | {ev or 'none'} | {'; '.join(notes) or '-'} |")
    return lines


def sizes_section(sizes: dict[str, Any]) -> list[str]:
    if "error" in sizes:
        return [f"Could not measure: {sizes['error']}"]
    core = sizes.get("statsig-python-core", {}).get("bytes")
    legacy = sizes.get("statsig", {}).get("bytes")
    lines = ["| package | own size (MiB) | with dependency closure (MiB) | vs core | vs legacy | closure |",
             "|---|---:|---:|---:|---:|---|"]
    for name, info in sizes.items():
        closure = ", ".join(sorted(info["closure"]))
        lines.append(f"| {name} | {info['own_bytes'] / 2**20:.2f} | {info['bytes'] / 2**20:.2f} | "
                     f"{fmt_ratio(ratio(info['bytes'], core))} | {fmt_ratio(ratio(info['bytes'], legacy))} | "
                     f"{closure} |")
    return lines


def render(meta: dict[str, Any], results: dict[str, dict[str, Runs]]) -> str:
    plan = meta["plan"]
    out = [
        "# Benchmarks: statsig_lite vs the official Statsig Python SDKs",
        "",
        f"Generated by `{meta['command']}`; measuring took {meta['duration_s'] / 60:.1f} min. "
        f"Each figure is the median over {plan['runs']} runs; every run is a fresh process per SDK.",
        "",
        "## Machine and versions",
        "",
        *machine(),
        *versions(meta, results),
        f"- Network: {meta['isolation']}",
        f"- Load average (1 min) before / after: {meta['load_1min'][0]:.2f} / {meta['load_1min'][1]:.2f} "
        "(the benchmark itself keeps about one core busy; more means other work shared the machine)",
        "",
        "## How each SDK is driven",
        "",
        "All three get the same synthetic spec (v1 and v2 text of one logical project) and the same users.",
        "",
        "- **statsig (legacy)**: `statsig.initialize(key, StatsigOptions(bootstrap_values=<v1 text>, api=…, "
        "api_for_download_config_specs=…, api_for_get_id_lists=…, api_for_log_event=… (all loopback), "
        "disable_diagnostics=True, rulesets_sync_interval=3600, idlists_sync_interval=3600))`. Its init includes "
        "the `POST get_id_lists` it always makes, to the loopback server; its error boundary's hard-coded "
        "`sdk_exception` URL is redirected there too. Logging off: the `*_with_exposure_logging_disabled` "
        "functions.",
        "- **statsig-python-core**: `Statsig(key, StatsigOptions(data_store=<DataStore returning the v2 text>, "
        "specs_url=…, log_event_url=…, id_lists_url=… (all loopback), specs_sync_interval_ms=3600000)).initialize()"
        ".wait()`; it initialises from the data store (`source: Adapter(DataStore)`), the in-process equivalent "
        "of bootstrap. Logging off: `FeatureGateEvaluationOptions(disable_exposure_logging=True)` and friends.",
        "- **statsig_lite**: `statsig.initialize(key, StatsigOptions(bootstrap_values=<v1 or v2 text>, "
        "api=<loopback>, id_lists=False, lambda_mode=True))` through its legacy-compatible module facade; run once "
        "on each payload. `lambda_mode=True` is the configuration on Lambda: no background thread (elsewhere, by "
        "default, a worker thread flushes while the calls run, as the official SDKs' threads do). "
        "Exposures are built and buffered during the calls and posted to the loopback server by "
        "the flush in `shutdown` (no background thread: on Lambda its decorator flushes at the end of each "
        "invocation), so their delivery is in the *shutdown* row, not in the call latencies.",
        "",
        "Ratios: `lite(v2) / core` compares runs on the same v2 payload, `lite(v1) / legacy` on the same v1 "
        "payload. A target passes when **both** lite runs (v1 and v2 payload) are within it relative to core.",
        "",
        "## Issue #16 figures (this run)",
        "",
        *summary_section(meta, results),
        "",
    ]
    for preset, by_label in results.items():
        c = meta["specs"][preset]
        out += [
            f"## {preset.capitalize()} spec",
            "",
            f"{c['gates']} feature gates + {c['segments']} segment(s) + {c['holdouts']} holdout(s), "
            f"{c['configs']} configs, {c['experiments']} experiments, {c['layers']} layers "
            f"({c['conditions_v2']:,} distinct conditions); "
            f"v1 {c['bytes_v1'] / 1024:,.0f} KiB, v2 {c['bytes_v2'] / 1024:,.0f} KiB.",
            "",
            *table(preset, by_label),
            "",
            "### Result digest",
            "",
            *digest_section(preset, meta["grids"][preset], by_label),
            "",
        ]
    if meta.get("flush"):
        out += [
            "## Exposure delivery: encoding and flush",
            "",
            "`benchmarks/flush.py`: both SDKs in one process on the v2 payload, N check_gate calls with logging on "
            "over N users neither has logged, then a flush to the loopback API (statsig_lite: `flush()` builds, "
            "encodes, gzips and posts on the calling thread; core: `flush_events().wait()` posts what its "
            "background logger has not sent yet, so its *flush* alone is not its delivery: compare *checks + "
            "flush*). *build + encode*: statsig_lite's wire dicts and JSON of the recorded exposures alone. "
            "Each SDK's checks and flush run one after the other, never at once; both run in one process with "
            "the loopback server, whose threads decode every batch in Python.",
            "",
        ]
        for preset, text in meta["flush"].items():
            out += [f"### {preset.capitalize()} spec", "", text, ""]
    out += [
        "## Installed size",
        "",
        "Files each distribution installs (bytecode caches excluded), over its `Requires-Dist` closure; "
        "statsig_lite is an editable install, so its package directory (the run's snapshot) is measured.",
        "",
        *sizes_section(meta["sizes"]),
        "",
        "## Loopback traffic",
        "",
        *network_section(results),
        "",
        "## Errors",
        "",
        *errors_section(results),
        "",
        "## Notes on driving the official SDKs offline",
        "",
        "- statsig (legacy) has a `bootstrap_values` option but still makes one `POST get_id_lists` during "
        "`initialize` and starts its polling threads (interval raised to an hour here). Its error boundary "
        "posts to a hard-coded `https://statsigapi.net/v1/sdk_exception`; the driver points that class "
        "attribute at the loopback server. At benchmark call rates it drops exposure events (its own "
        "`log_event_dropped_event_count` warning, also posted as an sdk_exception): its logging-on figures "
        "include building every event but not delivering all of them.",
        "- statsig-python-core has no bootstrap option; a `DataStore` subclass returning the v2 text is the "
        "in-process route (init source `Adapter(DataStore)`); the adapter drops its reference to the text once "
        "`initialize` returned, so *RSS after init* counts what the core keeps (statsig_lite likewise keeps no "
        "reference to its `bootstrap_values` text after the first load). It still starts an HTTP background sync "
        "against `specs_url` (loopback, interval an hour), posts `diagnostics` and `non_exposed_checks` events even "
        "with exposure logging off, and has a hard-coded `sdk_exception` URL that no option changes; only "
        "the network namespace guarantees it cannot leave the machine. It loads its country lookup table in a "
        "background task after `initialize` returns, so its *RSS after init* excludes that; the row measured "
        "0.5 s after the first check includes it. The first check is timed alone (the driver's call table is "
        "built before the clock starts).",
        "- statsig_lite makes no request until `shutdown` flushes the buffered exposures (the core posts from "
        "a background thread while the calls run). `id_lists=False` skips its ID-list fetch at init, as the "
        "core does by default; the specs use no ID lists. Its *shutdown* row is therefore the whole delivery "
        "of the run: every exposure of every latency loop (tens of thousands) built, JSON-encoded (about 10 us "
        "an event on this machine), gzipped and posted one batch of 1,000 after another on the calling thread "
        "to the loopback server, which decodes each batch in Python before it answers; the driver gives that "
        "`shutdown(timeout=120)` so that every event is delivered. On Lambda the decorator does this at the "
        "end of each invocation, for that invocation's events only.",
        "",
        "## Method",
        "",
        f"- Latency: {plan['calls']:,} calls per API and logging mode, each timed alone with "
        "`time.perf_counter_ns()` through a Python lambda of the same shape for every SDK (the timing loop's "
        "own cost is the *loop overhead* row). (user, name) pairs are drawn from "
        f"{plan['latency_users']:,} users and every entity of the kind, so exposure dedupe rarely applies; "
        "logging on and off use different sequences. get_layer + get reads the layer's first parameter.",
        "- Import: wall time of the SDK import in a fresh interpreter, bytecode already cached for every SDK "
        "alike (`PYTHONPYCACHEPREFIX` under benchmarks/.work, written by a warm-up import). Init: from the "
        "spec text held in memory to a ready client. First check: one `check_gate` with logging on right after "
        "init (the first feature gate of the spec, first user); statsig_lite's initialize ends by running its "
        "evaluator once on a made-up user (pure, ~0.1 ms, in the init figures), which halves this one.",
        "- RSS: `VmRSS` from /proc/self/status; after init is measured with the spec text released and after "
        "`gc.collect()`; peak is `VmHWM`. The first two readings hold nothing of the driver but one user; the "
        "driver then loads its users and call lists (the step between the *idle* and *loaded* rows, the same "
        "data for every SDK plus each SDK's user objects), so *RSS at end* and *peak* include them.",
        "- get_client_initialize_response: median over a fixed set of users; *JSON text* adds `json.dumps` for "
        "SDKs that return a dict (the core returns a JSON string), since a server sends text to the client; "
        "for statsig_lite it is its own text call, `get_client_initialize_response_json` (timed alone, before "
        "the dict call for the same user, so nothing of that user is memoised yet), which memoises each "
        "entry's JSON per snapshot and hash: the first "
        "users of a run encode, later users with the same outcomes look their entries up.",
        "- Digest: computed on the first run of each SDK; mismatches are reported, not fatal.",
        "",
    ]
    return "\n".join(out)
