"""Install the peers into var/peers (never the project's venv): a virtualenv with
requirements.txt, and BullMQ with `npm ci` from bullmq/package-lock.json where node and
npm are present. A stamp per part skips the work when its pins did not change."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE.parents[1] / "var" / "peers"
VENV = PEERS / "venv"
BULLMQ = PEERS / "bullmq"
PYTHON = VENV / "bin" / "python"


def _stamp(path: Path, *sources: Path) -> tuple[Path, str]:
    digest = hashlib.sha256(b"".join(s.read_bytes() for s in sources)).hexdigest()
    return path / ".installed", digest


def python_peers() -> Path:
    stamp, digest = _stamp(VENV, HERE / "requirements.txt")
    if not (stamp.exists() and stamp.read_text() == digest):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(HERE / "requirements.txt")], check=True)
        stamp.write_text(digest)
    return PYTHON


def bullmq() -> bool:
    """True when BullMQ can run here (node and npm present, `npm ci` done)."""
    if not (shutil.which("node") and shutil.which("npm")):
        return False
    sources = [HERE / "bullmq" / n for n in ("package.json", "package-lock.json")]
    BULLMQ.mkdir(parents=True, exist_ok=True)
    for script in (HERE / "bullmq").glob("*.mjs"):  # ES modules resolve beside node_modules
        shutil.copyfile(script, BULLMQ / script.name)
    stamp, digest = _stamp(BULLMQ, *sources)
    if not (stamp.exists() and stamp.read_text() == digest):
        for source in sources:
            shutil.copyfile(source, BULLMQ / source.name)
        npm = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        if subprocess.run(npm, cwd=BULLMQ).returncode != 0:
            return False
        stamp.write_text(digest)
    return True


if __name__ == "__main__":
    print(python_peers(), bullmq())
