"""Every environment variable name and default the package reads, in one place."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Final

SDK_TYPE: Final = "statsig-lite-python"
SDK_VERSION: Final = "0.1.0"

# Environment variables (read once, when options are resolved; never on the hot path).
ENV_SERVER_SECRET: Final = "STATSIG_SERVER_SECRET"
ENV_SECRET_NAME: Final = "STATSIG_SECRET_NAME"
ENV_SPEC_SOURCE: Final = "STATSIG_SPEC_SOURCE"
ENV_SPEC_MAX_AGE_SECONDS: Final = "STATSIG_SPEC_MAX_AGE_SECONDS"
ENV_API_URL: Final = "STATSIG_API_URL"
ENV_SPILL_TARGET: Final = "STATSIG_SPILL_TARGET"
ENV_ENVIRONMENT_TIER: Final = "STATSIG_ENVIRONMENT_TIER"
ENV_FLUSH_MARGIN_MS: Final = "STATSIG_FLUSH_MARGIN_MS"
ENV_METRICS_ENABLED: Final = "STATSIG_METRICS_ENABLED"
ENV_LOCAL_MODE: Final = "STATSIG_LOCAL_MODE"
ENV_DELIVERY: Final = "STATSIG_DELIVERY"  # Lambda: synchronous (default) or after_response
ENV_CONFORMANCE_DIR: Final = "STATSIG_CONFORMANCE_DIR"
ENV_SNAPSHOT_TARGETS: Final = "STATSIG_SNAPSHOT_TARGETS"  # refresher: where it writes the snapshot
ENV_DCS_FORMAT: Final = "STATSIG_DCS_FORMAT"  # refresher / pull: v2 (default) or v1 payloads
ENV_SPILL_RETENTION_DAYS: Final = "STATSIG_SPILL_RETENTION_DAYS"  # DynamoDB spill items' expires_at (template)

# Defaults.
DEFAULT_API: Final = "https://statsigapi.net/v1/"
DEFAULT_CDN_V1: Final = "https://api.statsigcdn.com/v1/"
DEFAULT_CDN_V2: Final = "https://api.statsigcdn.com/v2/"
DEFAULT_SPEC_MAX_AGE_SECONDS: Final = 60.0
DEFAULT_FLUSH_MARGIN_MS: Final = 500
DEFAULT_MAX_FLUSH_S: Final = 5.0  # longest a handler's flush may take; the rest is spilled
DEFAULT_EVENT_QUEUE_SIZE: Final = 1000
DEFAULT_MAX_BUFFERED_EVENTS: Final = 100_000
DEFAULT_INIT_TIMEOUT_S: Final = 3.0
DEFAULT_REQUEST_TIMEOUT_S: Final = 5.0

# Evaluation limits.
# Nested gates deeper than this end in an error (only a cycle gets there). core stops at 300, the legacy SDK
# at Python's recursion limit; each level costs us ~5 Python frames, so we stop early enough never to hit it.
MAX_RECURSION_DEPTH: Final = 150
EXPOSURE_DEDUPE_TTL_MS: Final = 60_000
EXPOSURE_DEDUPE_MAX_KEYS: Final = 100_000

# Event delivery (pipeline.py, sinks/).
LOG_EVENT_ENDPOINT: Final = "log_event"
HEADER_BATCH_ID: Final = "STATSIG-BATCH-ID"
DEFAULT_FLUSH_TIMEOUT_S: Final = 3.0  # flush(None) budget when options.timeout is unset
MAX_BATCH_BODY_BYTES: Final = 1_000_000  # gzip body cap per log_event request; bigger batches are split
CONNECT_TIMEOUT_S: Final = 1.0  # upper bound on one connect; the read timeout is what the deadline leaves
MIN_ATTEMPT_S: Final = 0.05  # do not start an HTTP attempt with less time than this left
BACKOFF_BASE_S: Final = 0.05
BACKOFF_MAX_S: Final = 2.0
SPILL_RESERVE_S: Final = 0.25  # time a flush keeps back for writing the spill object
SPILL_RESERVE_FRACTION: Final = 0.25  # ... but never more than this share of the flush budget
DEFAULT_SPILL_RETENTION_SECONDS: Final = 7 * 24 * 3600.0  # DynamoDB expires_at; S3/dir: lifecycle rules
DEFAULT_SPILL_REPLAY_INTERVAL_SECONDS: Final = 60.0  # how often flush() lists the spill store
OVERFLOW_FLUSH_TIMEOUT_S: Final = 2.0  # buffer full and no spill store: synchronous flush budget
MIN_STORE_CALL_S: Final = 0.05  # do not start a spill-store call with less time than this left
FLUSH_TOLERANCE_S: Final = 0.25  # a flush ends within its budget plus this (stated in the README)
MAX_SENDS_PER_BATCH_PER_FLUSH: Final = 3  # attempts one batch may make in one flush before the next batch
DOWN_AFTER_FAILED_BATCHES: Final = 2  # this many different batches failing in a row: Statsig is down
MAX_BATCH_ATTEMPTS: Final = 8  # a batch failing this often while others get through is quarantined
BATCH_BACKOFF_BASE_S: Final = 1.0  # per-batch backoff between flushes: base * 2^attempts, capped
BATCH_BACKOFF_MAX_S: Final = 300.0
CLAIM_SLACK_S: Final = 30.0  # a replay claim lasts the flush budget plus this, then another sandbox may take it
RECORD_RAW_TARGET_BYTES: Final = 8_000_000  # spill records are cut to about this much raw JSON each
DEFAULT_JOURNAL_DIR: Final = "/tmp/statsig_lite/journal"  # on Lambda; off elsewhere unless configured
JOURNAL_MAX_BYTES: Final = 64 * 1024 * 1024  # bound of the local journal (Lambda's /tmp has 512 MB or more)
OVERFLOW_CHUNK_BYTES: Final = 256_000  # a full buffer moves this much of its oldest events to the journal
MEMORY_SHARE_FOR_EVENTS: Final = 0.05  # buffer bound: this share of AWS_LAMBDA_FUNCTION_MEMORY_SIZE ...
MIN_BUFFERED_BYTES: Final = 2 * 1024 * 1024  # ... at least this ...
MAX_BUFFERED_BYTES: Final = 64 * 1024 * 1024  # ... at most this (and this off Lambda)
ENV_JOURNAL_DIR: Final = "STATSIG_JOURNAL_DIR"  # local journal directory; "off" disables it
ENV_MAX_BUFFERED_BYTES: Final = "STATSIG_MAX_BUFFERED_BYTES"
ENV_LAMBDA_MEMORY_MB: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
ENV_LAMBDA_FUNCTION_NAME: Final = "AWS_LAMBDA_FUNCTION_NAME"
MAX_BISECT_SPLITS_PER_FLUSH: Final = 24  # splits of refused batches per flush; past it they are quarantined whole
