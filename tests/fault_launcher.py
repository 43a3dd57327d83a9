"""Runs the `rathaus` CLI with a storage fault injected at the operating system's boundary (issue 19).

``RATHAUS_TEST_FAULT_DIR``: files in this directory fail – ``RATHAUS_TEST_FAULT=erofs``: creating one raises EROFS
(a read-only file system; chmod does not stop root, so this is how a test running as root sees a read-only
directory); ``enospc``: writing to one writes half of the first chunk, then raises ENOSPC (a full disk).
Usage: ``python tests/fault_launcher.py <rathaus arguments>``.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import Any


def _set(name: str, value: Any) -> None:
    setattr(os, name, value)


def install(folder: str, fault: str, patch: Callable[[str, Any], None] = _set) -> None:
    """Make writes into ``folder`` fail with ``fault``; ``patch(name, function)`` replaces ``os.<name>`` (a test
    passes ``monkeypatch.setattr`` so that it is undone)."""
    real_open, real_write, real_close = os.open, os.write, os.close
    doomed: set[int] = set()

    def inside(path: Any) -> bool:
        try:
            return os.path.dirname(os.path.abspath(os.fsdecode(path))) == folder
        except (TypeError, ValueError):
            return False

    def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR):
            if fault == "erofs":
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))
            fd = real_open(path, flags, *args, **kwargs)
            doomed.add(fd)
            return fd
        return real_open(path, flags, *args, **kwargs)

    def fake_write(fd: int, data: Any) -> int:
        if fd in doomed:
            doomed.discard(fd)
            real_write(fd, bytes(data)[: max(1, len(data) // 2)])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    def fake_close(fd: int) -> None:
        doomed.discard(fd)
        real_close(fd)

    patch("open", fake_open)
    patch("write", fake_write)
    patch("close", fake_close)


if __name__ == "__main__":
    folder, fault = os.environ.get("RATHAUS_TEST_FAULT_DIR"), os.environ.get("RATHAUS_TEST_FAULT")
    if folder and fault in ("erofs", "enospc"):
        install(os.path.abspath(folder), fault)
    from rathaus.cli import main

    sys.exit(main(sys.argv[1:]))
