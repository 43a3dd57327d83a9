"""Secret keys kept in files outside the database (mode 0600), created once and shared by all processes.

Used for keys that must not live in the database they protect: the audit chain key, the library's reader
pseudonym key. A key file is created atomically, so processes starting at the same moment agree on one key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from rathaus.core.errors import ConfigError

MIN_KEY_CHARS = 16


def read_key_file(path: Path) -> bytes:
    """The key in ``path`` (whitespace stripped); a missing, unreadable or short file is a ConfigError."""
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"key file {path} not readable: {exc.__class__.__name__}: {exc}") from None
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"{path}: Schlüssel zu kurz oder leer / key too short or empty")
    return key.encode("ascii")


def create_key_file(path: Path) -> bool:
    """Write a random 256-bit key (hex) to ``path`` unless it exists; True if this call created it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    created = False
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process was faster: its key wins
            os.link(tmp, path)
            created = True
    finally:
        tmp.unlink(missing_ok=True)
    return created


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``; created once (random, mode 0600, atomically so concurrent starts agree)."""
    create_key_file(path)
    return read_key_file(path)
