"""Official module path `statsig.statsig_options`: re-exports (migrating code imports from here)."""

from .interface_network import NetworkEndpoint, NetworkProtocol
from .options import (
    DEFAULT_EVENT_QUEUE_SIZE,
    DEFAULT_IDLIST_SYNC_INTERVAL,
    DEFAULT_IDLISTS_THREAD_LIMIT,
    DEFAULT_LOGGING_INTERVAL,
    DEFAULT_RETRY_QUEUE_SIZE,
    DEFAULT_RULESET_SYNC_INTERVAL,
    AuthenticationMode,
    ProxyConfig,
    StatsigOptions,
)

STATSIG_API = "https://statsigapi.net/v1/"
STATSIG_CDN = "https://api.statsigcdn.com/v1/"
DEFAULT_PROXY_CONFIG = {NetworkEndpoint.ALL: ProxyConfig(proxy_address=STATSIG_API, protocol=NetworkProtocol.HTTP)}

__all__ = [
    "DEFAULT_EVENT_QUEUE_SIZE",
    "DEFAULT_IDLISTS_THREAD_LIMIT",
    "DEFAULT_IDLIST_SYNC_INTERVAL",
    "DEFAULT_LOGGING_INTERVAL",
    "DEFAULT_PROXY_CONFIG",
    "DEFAULT_RETRY_QUEUE_SIZE",
    "DEFAULT_RULESET_SYNC_INTERVAL",
    "STATSIG_API",
    "STATSIG_CDN",
    "AuthenticationMode",
    "ProxyConfig",
    "StatsigOptions",
]
