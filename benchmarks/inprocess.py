"""What the in-process A/B scripts (ab.py, ab_gcir.py) share: statsig_lite on the v1 and the v2 payload and
statsig-python-core on the v2 payload, in one process, built alike from the same users."""

from __future__ import annotations

from typing import Any

SECRET = "secret-benchmark-key"


def start_sdks(texts: dict[str, str], server_url: str) -> tuple[dict[str, Any], Any]:
    """({"v1": lite server, "v2": lite server}, core) initialised from the payload texts; exposures go to the
    loopback server at `server_url` (core) or are buffered (lite, as benchmarks/run.py: no worker thread)."""
    import statsig_python_core as core

    from statsig_lite import StatsigOptions, StatsigServer

    lites: dict[str, Any] = {}
    for fmt in ("v1", "v2"):
        s = StatsigServer()
        s.initialize(SECRET, StatsigOptions(bootstrap_values=texts[fmt], api=f"{server_url}/v1/", id_lists=False,
                                            lambda_mode=True))
        lites[fmt] = s

    class Store(core.DataStore):  # type: ignore[misc]
        def get(self, key: str) -> Any:
            return core.DataStoreResponse(result=texts["v2"], time=None)

    c = core.Statsig(SECRET, core.StatsigOptions(
        specs_url=f"{server_url}/v2/download_config_specs", log_event_url=f"{server_url}/v1/log_event",
        id_lists_url=f"{server_url}/v1/get_id_lists", data_store=Store(), specs_sync_interval_ms=3_600_000,
        output_log_level="error"))
    c.initialize().wait()
    return lites, c


def lite_user(u: dict[str, Any]) -> Any:
    from statsig_lite import StatsigUser

    return StatsigUser(user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), user_agent=u.get("userAgent"),
                       country=u.get("country"), locale=u.get("locale"), app_version=u.get("appVersion"),
                       custom=u.get("custom"), private_attributes=u.get("privateAttributes"),
                       custom_ids=u.get("customIDs"), _statsig_environment=u.get("statsigEnvironment"))


def core_user(u: dict[str, Any]) -> Any:
    import statsig_python_core as core

    return core.StatsigUser(user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), country=u.get("country"),
                            locale=u.get("locale"), app_version=u.get("appVersion"), user_agent=u.get("userAgent"),
                            custom=u.get("custom"), custom_ids=u.get("customIDs"),
                            private_attributes=u.get("privateAttributes"),
                            statsig_environment=u.get("statsigEnvironment"))


def ratio_columns(core: tuple[float, float], lites: dict[str, tuple[float, float]], digits: int) -> str:
    """` | lite-v1 m/p (m/cm x/p/cp x)` for each lite run: medians and p99 with their ratios to the core's."""
    cm, cp = core
    return "".join(f" | {label} {m:.{digits}f}/{p:.{digits}f} ({m / cm:.2f}x/{p / cp:.2f}x)"
                   for label, (m, p) in lites.items())


def stop_sdks(lites: dict[str, Any], core: Any) -> None:
    for s in lites.values():
        s.shutdown(timeout=0.01)
    core.shutdown().wait()
