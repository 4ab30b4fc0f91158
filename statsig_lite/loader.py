"""Getting rules into the client: the first load, and cheap freshness checks at invocation boundaries.

There is no background thread: the client asks `refresh_if_stale` at the start of an invocation. Age is
measured by the wall clock, so time spent frozen between invocations counts; a clock that stepped back
(now before the last check) means "check now", never "fresh for as long as the step". A failed or slow
check keeps the current rules and is tried again after another max age; a newer snapshot is parsed
completely before it replaces the current one, so checks already running finish on the rules they started
with. Every snapshot passes `store.validate` first (sane on its own, and, against the rules in use, not
from the future, not older, no collapse); rules in use dated in the future pin nothing: the next sane
snapshot replaces them, and the source is asked for a full answer, not "changed since <that time>?".

Without bootstrap values or a configured source, rules come from Statsig's API (download_config_specs,
as the official SDK), within ``init_timeout``; invalid bootstrap values fall back to that source too.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping

from ._gc import PausedCollector
from ._log import get_logger
from ._record import Record
from .errors import SpecError, SpecFormatError, SpecSourceError
from .options import StatsigOptions
from .results import DataSource
from .sources.base import Fetched, SpecSource
from .store.envelope import ReadSnapshot, read_snapshot
from .store.model import Snapshot
from .store.validate import Summary, allow_shrink_from, check_replacement, is_absurd

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

logger = get_logger(__name__)

_freeze_pending = True  # the first load in this process freezes what is alive (see first_load)

_SOURCE_KINDS = {
    "s3": DataSource.S3,
    "dynamodb": DataSource.DYNAMODB,
    "file": DataSource.FILE,
    "bundled": DataSource.BUNDLED,
    "http": DataSource.NETWORK,
    "https": DataSource.NETWORK,
    "statsig": DataSource.NETWORK,
    "bootstrap": DataSource.BOOTSTRAP,
    "example": DataSource.BUNDLED,
}


class Loaded(Record):
    """The rules in use: replaced as a whole."""

    __slots__ = ("checked_at_ms", "has_id_lists", "init_time", "snapshot", "source", "source_detail", "version")

    def __init__(
        self,
        snapshot: Snapshot,
        source: DataSource,
        source_detail: str,
        version: str | None,
        init_time: int,
        checked_at_ms: int,
        has_id_lists: bool = False,
    ) -> None:
        self.snapshot = snapshot
        self.source = source
        self.source_detail = source_detail
        self.version = version
        self.init_time = init_time
        self.checked_at_ms = checked_at_ms
        self.has_id_lists = has_id_lists  # the snapshot document carried its ID lists (our envelope)

    def checked_at(self, now_ms: int) -> Loaded:
        return Loaded(self.snapshot, self.source, self.source_detail, self.version, self.init_time, now_ms,
                      self.has_id_lists)


def data_source_for(detail: str) -> DataSource:
    return _SOURCE_KINDS.get(detail.split(":", 1)[0].lower(), DataSource.DATASTORE)


class RulesLoader:
    """Loads snapshots for one client from bootstrap values or a spec source."""

    def __init__(
        self,
        options: StatsigOptions,
        secret_key: str,
        now_ms: Callable[[], int],
        source: SpecSource | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._options = options
        self._secret_key = secret_key
        self._now_ms = now_ms
        self._source = source
        self._environ = os.environ if environ is None else environ
        self._parsed: tuple[bytes, ReadSnapshot] | None = None  # the payload a fallback chain validated

    @property
    def source(self) -> SpecSource | None:
        return self._source

    def parse(self, payload: bytes | str | Mapping[str, Any]) -> Snapshot:
        return self._read(payload).snapshot

    def _read(self, payload: bytes | str | Mapping[str, Any]) -> ReadSnapshot:
        return read_snapshot(payload, global_custom=self._options.global_custom_fields)

    def first_load(self) -> Loaded:
        """Bootstrap values if given and valid, else the spec source (configured, or Statsig's API).

        Raises SpecError (or ConfigurationError for a spec source value that cannot be used)."""
        now = self._now_ms()
        with PausedCollector():  # until the freeze below: no collection may scan the new rules first
            loaded = self._bootstrap(now) if self._options.bootstrap_values is not None else None
            if loaded is None:
                source = self._resolve_source()
                loaded = self._loaded_from(source.fetch(self._options.init_timeout or 3.0), now, None)
            # The rules are long-lived and acyclic: frozen, the collector never scans them again (on a
            # large project its young, middle and first full collection after the load took 10-20 ms
            # each). Once per process, at its cold start, where nearly everything alive stays alive:
            # cyclic garbage alive at that moment is never collected, so later loads do not freeze again.
            # `gc.unfreeze()` undoes it.
            global _freeze_pending
            if _freeze_pending:
                _freeze_pending = False
                gc.freeze()
            return loaded

    def forget_bootstrap(self) -> StatsigOptions:
        """The options without the bootstrap payload, which is compiled by now: its text (megabytes for a
        large project) is not held for the life of the process."""
        self._options = self._options.replace(bootstrap_values=None)
        return self._options

    def _bootstrap(self, now: int) -> Loaded | None:
        """The bootstrap values, or None when they are invalid (then the source is asked, as officially)."""
        assert self._options.bootstrap_values is not None
        try:
            read = self._read(self._options.bootstrap_values)
            check_replacement(Summary.of(read.snapshot), None, now)
        except SpecError as exc:
            logger.error("statsig_lite: bootstrap_values rejected, downloading the rules instead: %s", exc)
            return None
        return Loaded(read.snapshot, DataSource.BOOTSTRAP, "bootstrap", None, now, now, read.has_id_lists)

    def refresh_if_stale(self, current: Loaded, budget_s: float) -> Loaded:
        """`current`, or newer rules if the source has them and they are valid and may replace them."""
        now = self._now_ms()
        max_age_ms = (self._options.spec_max_age_seconds or 0) * 1000
        age = now - current.checked_at_ms
        if self._source is None or budget_s <= 0 or 0 <= age < max_age_ms:  # age < 0: the clock stepped back
            return current
        checked = current.checked_at(now)  # a failure is retried after another max age
        # rules dated in the future must not make the source answer "nothing newer than that"
        version = None if is_absurd(current.snapshot.time, now) else current.version
        try:
            fetched = self._source.fetch_if_changed(version, budget_s)
        except SpecError as exc:
            logger.warning(
                "statsig_lite: freshness check failed, keeping current rules: %s",
                exc,
                extra={"source": current.source_detail},
            )
            return checked
        if fetched is None:
            return checked
        try:
            loaded = self._loaded_from(fetched, current.init_time, current.snapshot)
        except SpecError as exc:
            logger.error(
                "statsig_lite: new snapshot from %s rejected, keeping current rules: %s",
                fetched.source,
                exc,
                extra={"source": fetched.source, "reason": getattr(exc, "code", "invalid")},
            )
            return checked
        logger.info(
            "statsig_lite: rules updated from %s (time %s)",
            fetched.source,
            loaded.snapshot.time,
            extra={"source": fetched.source},
        )
        return loaded

    def _validate(self, fetched: Fetched) -> None:
        """Parse and check once while a fallback chain decides which source to use: a bad payload moves it
        on (a future-dated S3 object falls back like a truncated one)."""
        read = self._read(fetched.payload)
        check_replacement(Summary.of(read.snapshot), None, self._now_ms())
        self._parsed = (fetched.payload, read)

    def _loaded_from(self, fetched: Fetched, init_time: int, held: Snapshot | None) -> Loaded:
        parsed, self._parsed = self._parsed, None
        read = parsed[1] if parsed is not None and parsed[0] is fetched.payload else self._read(fetched.payload)
        check_replacement(
            Summary.of(read.snapshot),
            Summary.of(held) if held is not None else None,
            self._now_ms(),
            allow_shrink=read.allow_shrink or allow_shrink_from(self._environ),
        )
        return Loaded(read.snapshot, data_source_for(fetched.source), fetched.source, fetched.version, init_time,
                      self._now_ms(), read.has_id_lists)

    def _resolve_source(self) -> SpecSource:
        if self._source is None:
            from .sources.uri import parse_spec_source

            spec = self._options.spec_source or "statsig"  # the official SDK's default: Statsig's API
            if self._options.local_mode and not self._options.spec_source:
                raise SpecSourceError("local_mode", "no network in local mode, and no spec source or bootstrap")
            base = self._options.base_url("download_config_specs")
            self._source = parse_spec_source(spec, secret_key=self._secret_key, api_base=base, validate=self._validate)
        return self._source


__all__ = ["Loaded", "RulesLoader", "SpecFormatError", "data_source_for"]
