"""The instance directory and the private files kept in it (secrets, SQLite files).

Shared by Alpine (config.py, app/core/database.py), Argo (argo_app) and the
embedded launcher, so it imports neither app. Everything here is created
owner-only (files 0600, a new directory 0700): the secrets and the databases
of a development instance are nobody else's business on a shared machine.

``INSTANCE_DIR`` (environment) moves the whole instance, e.g. for a second
stack or a test; the default is ``instance/`` at the repository root.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def instance_dir() -> Path:
    """Where this instance keeps its state; read from the environment on every call."""
    return Path(os.environ.get("INSTANCE_DIR") or REPO_ROOT / "instance").resolve()


def ensure_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    return path


def private_file(path: str | os.PathLike) -> Path:
    """Make sure ``path`` exists and is readable by its owner only.

    Created empty with mode 0600 if missing (SQLite then opens it as a new
    database, and gives its -wal/-shm files the same mode); an existing file
    we own is tightened to 0600.
    """
    path = Path(path)
    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        _tighten(path)
    else:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # exactly 0600 whatever the umask
        os.close(fd)
    return path


def _tighten(path: Path) -> None:
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, PRIVATE_FILE_MODE)


def instance_secret(name: str, directory: str | os.PathLike | None = None, nbytes: int = 32) -> str:
    """The secret kept in ``<instance>/<name>``, generated (0600) on first use.

    Race-safe across processes started at the same moment: the value is
    written to a private temporary file and hard-linked into place, so every
    process reads the one secret that won, never a half-written file.
    """
    directory = ensure_dir(Path(directory) if directory is not None else instance_dir())
    path = directory / name
    existing = _read_secret(path)
    if existing:
        return existing
    tmp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        os.write(fd, (secrets.token_urlsafe(nbytes) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won the race; use its secret
    finally:
        tmp.unlink(missing_ok=True)
    value = _read_secret(path)
    if not value:
        raise RuntimeError(f"{path} exists but is empty; delete it to generate a new secret")
    return value


def _read_secret(path: Path) -> str | None:
    try:
        _tighten(path)
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None
