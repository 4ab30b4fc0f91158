"""Create and fill the benchmark's own virtual environment (benchmarks/.venv, gitignored).

It holds the two official SDKs at pinned versions next to statsig_lite, installed editable from
this repository, so every run measures the working tree. Reinstalls when the requirement list or
the repository's pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv"
PYTHON = VENV / "bin" / "python"
# boto3: cold_start.py measures each SDK in a function that already imports it, as most do
REQUIREMENTS = ["statsig==0.72.1", "statsig-python-core==0.24.0", "packaging", "boto3"]
# pyproject maps the package root to the checkout, so an editable install is one .pth line to it:
# a module added later imports without reinstalling
EDITABLE = ["-e", str(REPO)]


def _fingerprint() -> str:
    text = "\n".join(REQUIREMENTS + EDITABLE) + (REPO / "pyproject.toml").read_text()
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_venv(log: bool = True) -> Path:
    marker = VENV / ".bench-installed"
    want = _fingerprint()
    if PYTHON.exists() and marker.exists() and marker.read_text() == want:
        return PYTHON
    if log:
        print(f"setting up {VENV} (statsig, statsig-python-core, statsig_lite -e {REPO}) ...", flush=True)
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *REQUIREMENTS, *EDITABLE], check=True)
    marker.write_text(want)
    return PYTHON
