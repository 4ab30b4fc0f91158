"""Network names of the legacy `statsig` SDK: `NetworkProtocol`, `NetworkEndpoint` (keys of
`StatsigOptions.proxy_configs`) and its worker interfaces, kept for code that imports them.

statsig_lite speaks HTTP only (urllib3); the worker interfaces are never called by it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class NetworkProtocol(Enum):
    HTTP = "http"
    GRPC = "grpc"
    GRPC_WEBSOCKET = "grpc_websocket"


class NetworkEndpoint(Enum):
    LOG_EVENT = "log_event"
    DOWNLOAD_CONFIG_SPECS = "download_config_specs"
    GET_ID_LISTS = "get_id_lists"
    DOWNLOAD_ID_LIST_FILE = "download_id_list_file"
    ALL = "all"


class IStreamingListeners:
    def __init__(self, on_update: Callable[..., Any], on_error: Callable[..., Any]) -> None:
        self.on_update = on_update
        self.on_error = on_error


class IStreamingFallback:
    def __init__(self) -> None:
        self.started = False

    def backup_started(self) -> bool:
        return self.started

    def start_backup(self) -> None:
        """Start the fallback."""

    def cancel_backup(self) -> None:
        """Stop the fallback."""


class IStatsigNetworkWorker:
    """Interface only: statsig_lite does not take custom network workers."""

    @property
    def type(self) -> NetworkProtocol:
        return NetworkProtocol.HTTP

    def is_pull_worker(self) -> bool:
        return True

    def get_dcs(self, on_complete: Callable[..., Any], since_time: int = 0, log_on_exception: bool | None = False,
                init_timeout: int | None = None, request_context: str | None = None) -> None:
        """Download config specs."""

    def get_id_lists(self, on_complete: Callable[..., Any], log_on_exception: bool | None = False,
                     init_timeout: int | None = None, request_context: str | None = None) -> None:
        """Download the ID list index."""

    def get_id_list(self, on_complete: Any, url: Any, headers: Any, log_on_exception: bool | None = False,
                    id_list_file_id: str | None = None, request_context: str | None = None) -> None:
        """Download one ID list."""

    def log_events(self, payload: Any, headers: Any = None, log_on_exception: Any = False, retry: Any = 0) -> None:
        """Post events."""

    def get_dcs_fallback(self, on_complete: Callable[..., Any], since_time: int = 0,
                         log_on_exception: bool | None = False, init_timeout: int | None = None,
                         request_context: str | None = None) -> None:
        """Download config specs from Statsig's API."""

    def get_id_lists_fallback(self, on_complete: Any, log_on_exception: bool | None = False,
                              init_timeout: int | None = None, request_context: str | None = None) -> None:
        """Download the ID list index from Statsig's API."""

    def spawn_bg_threads_if_needed(self) -> None:
        """Start background work."""

    def shutdown(self) -> None:
        """Stop."""


class IStatsigWebhookWorker:
    """Interface only: statsig_lite does not take streaming workers."""

    def start_listen_for_config_spec(self, listeners: IStreamingListeners) -> None:
        """Listen for config specs."""

    def start_listen_for_id_list(self, listeners: IStreamingListeners) -> None:
        """Listen for ID lists."""

    def register_fallback_cb(self, cb: IStreamingFallback | None) -> None:
        self.backup_callbacks = cb

    def config_spec_listening_started(self) -> bool:
        return False

    def id_list_listening_started(self) -> bool:
        return False
