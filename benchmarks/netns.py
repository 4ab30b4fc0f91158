"""Run the measurement phase inside a loopback-only network namespace, when the machine allows it.

`unshare --user --map-root-user --net` gives the process tree its own network stack with only a
(down) loopback interface; `loopback_up()` raises it with the SIOCSIFFLAGS ioctl, so neither `ip` nor
real root is needed. Inside, 127.0.0.1 works and everything else fails with "network unreachable",
so no SDK can reach Statsig even through a URL the benchmark did not redirect.
"""

from __future__ import annotations

import errno
import fcntl
import shutil
import socket
import struct
import subprocess

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: name, flags, padding to 40 bytes

UNSHARE = ["unshare", "--user", "--map-root-user", "--net", "--"]


def can_unshare() -> tuple[bool, str]:
    """Whether `unshare` can create a user + network namespace here, and why not if it cannot."""
    if shutil.which("unshare") is None:
        return False, "unshare(1) not installed"
    try:
        proc = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"unshare failed: {exc}"
    if proc.returncode != 0:
        return False, f"unshare not permitted: {proc.stderr.strip() or proc.returncode}"
    return True, ""


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        raw = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack(_IFREQ, raw)[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))


def outside_unreachable() -> str:
    """Try to open a TCP connection to a public address; describe what happened."""
    try:
        with socket.create_connection(("1.1.1.1", 443), timeout=2):
            return "outbound connection to 1.1.1.1:443 SUCCEEDED (not isolated)"
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        return f"outbound connection to 1.1.1.1:443 fails with {name}"
