"""Official module path `statsig.statsig_server`: re-exports (migrating code imports from here)."""

from .server import StatsigServer

RULESETS_SYNC_INTERVAL = 10
IDLISTS_SYNC_INTERVAL = 60

__all__ = ["IDLISTS_SYNC_INTERVAL", "RULESETS_SYNC_INTERVAL", "StatsigServer"]
