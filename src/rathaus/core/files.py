"""Writing files so that a full disk or a read-only directory leaves nothing half-written.

:func:`atomic_write` writes to a temporary file in the target's own directory, flushes it to disk (``fsync``) and
renames it over the target (``os.replace``, atomic on POSIX): readers see the old content or the new one, never a
part. On any error the temporary file is removed and the old file stays as it was. :func:`storage_error` turns the
operating system's "disk full" and "read-only / not allowed" into one readable line (HTTP 507 or 503 problem+json,
CLI one line and a non-zero exit).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from rathaus.core.errors import RathausError, StorageFull, StorageReadOnly

#: errno values meaning "no room"
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: errno values meaning "may not write here"
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
TEMP_PREFIX = ".rathaus-tmp-"


def is_storage_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL | READ_ONLY


def storage_error(exc: OSError, path: Path | str | None = None, what: str = "write") -> RathausError:
    """The readable error for an OSError of a write (StorageFull, StorageReadOnly), else a generic one."""
    where = str(path or exc.filename or "?")
    if exc.errno in FULL:
        return StorageFull(f"could not {what} {where}: the disk is full (no space left on device); nothing was "
                           "written – free space and retry", extra={"path": where})
    if exc.errno in READ_ONLY:
        reason = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return StorageReadOnly(f"could not {what} {where}: {reason}; nothing was written – make the directory "
                               "writable for rathaus", extra={"path": where})
    return RathausError(f"could not {what} {where}: {exc.strerror or exc}", extra={"path": where})


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened or synced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path | str, data: bytes | str, *, mode: int = 0o644, encoding: str = "utf-8") -> Path:
    """Replace ``path`` by ``data`` atomically; StorageFull / StorageReadOnly (nothing changed) if the disk says no."""
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        view = memoryview(raw)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise storage_error(exc, path) from exc
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def append_line(path: Path, line: str, *, mode: int = 0o600) -> None:
    """Append one line whole or not at all: a write cut short by a full disk is truncated away again."""
    import fcntl

    data = line.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    except OSError as exc:
        raise storage_error(exc, path, "append to") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # writers of this file append one after the other
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise storage_error(exc, path, "append to") from exc
    finally:
        os.close(fd)


def make_dirs(folder: Path, mode: int = 0o777) -> Path:
    """``mkdir -p`` with the readable error."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=mode)
    except OSError as exc:
        raise storage_error(exc, folder, "create") from exc
    return folder
