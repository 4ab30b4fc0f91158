"""moto in server mode on 127.0.0.1, and boto3 clients bound to it.

moto 5's ``ThreadedMotoServer(ip_address, port)`` passes the port straight to werkzeug's
``make_server``, which records the bound port when it is 0, and ``get_host_and_port()`` reads it back
from the server socket; so ``port=0`` lets the OS choose and nothing races for a "free" port.
``start()`` blocks on an Event set once the socket listens. ``stop()`` calls ``shutdown()`` and joins
the thread; werkzeug's ``serve_forever`` closes the listening socket on its way out.

Clients carry dummy credentials and the region explicitly, and are built on a botocore session that
reads no config or credentials file, so nothing comes from the host.

    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="b")
        moto.reset()  # POST /moto-api/reset: every backend back to empty
"""

from __future__ import annotations

import logging
import os
from typing import Any

import urllib3

__all__ = ["DUMMY_CREDENTIALS", "REGION", "MotoServer", "make_client"]

REGION = "us-east-1"
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


def make_client(service: str, endpoint_url: str, *, region: str = REGION, **config: Any) -> Any:
    """A boto3 client for ``service`` on ``endpoint_url`` with dummy credentials and few retries.

    ``config`` overrides ``botocore.config.Config`` arguments (timeouts, retries, ...).
    """
    import boto3
    import botocore.config
    import botocore.session

    # No profile from AWS_PROFILE, and no ~/.aws/config or ~/.aws/credentials (nor AWS_CONFIG_FILE &
    # co.): each entry is (config-file key, environment variable, default, conversion).
    core = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    session = boto3.session.Session(botocore_session=core)
    settings: dict[str, Any] = {
        "connect_timeout": 5,
        "read_timeout": 30,
        "retries": {"max_attempts": 2, "mode": "standard"},
        "s3": {"addressing_style": "path"},
    }
    settings.update(config)
    return session.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        config=botocore.config.Config(**settings),
        **DUMMY_CREDENTIALS,
    )


class MotoServer:
    """moto's threaded server on 127.0.0.1:<free port>. Context manager, or start()/stop()."""

    def __init__(self) -> None:
        self._server: Any = None
        self._endpoint_url: str | None = None

    def start(self) -> MotoServer:
        if self._server is not None:
            raise RuntimeError("already started")
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO to stderr; keep warnings and errors only.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()  # returns once the socket listens
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None or self._server is None:
            raise RuntimeError("MotoServer is not running")
        return self._endpoint_url

    def reset(self) -> None:
        """Empty every moto backend (``POST /moto-api/reset``)."""
        response = urllib3.request("POST", f"{self.endpoint_url}/moto-api/reset", timeout=10.0, retries=False)
        if response.status != 200:
            raise RuntimeError(f"moto reset failed: {response.status} {response.data[:200]!r}")

    def client(self, service: str, **config: Any) -> Any:
        return make_client(service, self.endpoint_url, **config)

    def s3_client(self, **config: Any) -> Any:
        return self.client("s3", **config)

    def dynamodb_client(self, **config: Any) -> Any:
        return self.client("dynamodb", **config)

    def ssm_client(self, **config: Any) -> Any:
        return self.client("ssm", **config)

    def secretsmanager_client(self, **config: Any) -> Any:
        return self.client("secretsmanager", **config)
