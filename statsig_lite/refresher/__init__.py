"""The scheduled refresher: keeps a validated snapshot in S3 and/or DynamoDB for the SDK to read.

Lambda handler: ``statsig_lite.refresher.handler``. Configuration and the environment variables it reads:
`config.py`; what one run does: `refresh.py`; conditional writes: `targets.py`. Importing this package
loads nothing else: the refresher's modules load when the handler first runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["handler"]


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Refresh the snapshot once and replay spilled events (see `function.handler`)."""
    from .function import handler as run

    return run(event, context)
