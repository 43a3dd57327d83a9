"""One PostgreSQL database: an embedded private server by default, or any server by URL.

The embedded server comes from the ``pgserver`` package (PostgreSQL 16 + pgvector). Processes that
open the same data directory share one server; it stops when the last of them exits. A process that
was killed with SIGKILL leaves its pid in ``.handle_pids.json``; those stale pids are removed on start
so the server is stopped properly later.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rathaus.core.errors import DatabaseStorageFull, DatabaseUnavailable, RathausError
from rathaus.core.keyfiles import create_key_file
from rathaus.core.settings import Settings

log = logging.getLogger(__name__)

#: the audit chain's key file in a data directory (rathaus.core.audit reads it)
AUDIT_KEY_FILE = Path("secrets") / "audit-key"


def _prune_stale_handles(pgdata: Path) -> list[int]:
    """Drop pids of processes that no longer run from pgserver's handle list; return them."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    alive = [p for p in pids if isinstance(p, int) and psutil.pid_exists(p) and p != os.getpid()]
    stale = [p for p in pids if p not in alive]
    if stale:
        handles.write_text(json.dumps(alive))
        log.info("removed stale database handles %s", stale)
    return stale


_SERVERS: dict[Path, tuple[Any, int]] = {}
_SERVERS_LOCK = threading.Lock()


class EmbeddedServer:
    """A private PostgreSQL server owned by this data directory.

    Several ``Database`` objects of one process share the server through a reference count; the
    process's pgserver handle is released when the last of them closes.
    """

    def __init__(self, data_dir: Path):
        self.pgdata = (data_dir / "pg").resolve()
        self._released = False
        with _SERVERS_LOCK:
            entry = _SERVERS.get(self.pgdata)
            if entry is None:
                entry = (self._start(data_dir), 0)
            _SERVERS[self.pgdata] = (entry[0], entry[1] + 1)
        self._server = entry[0]

    def _start(self, data_dir: Path) -> Any:
        with warnings.catch_warnings():  # pgserver warns at import when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        _prune_stale_handles(self.pgdata)
        new = not (self.pgdata / "PG_VERSION").exists()
        try:
            server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        except Exception as exc:  # pgserver raises bare subprocess/assert errors
            raise DatabaseUnavailable(
                f"embedded PostgreSQL in {self.pgdata} did not start: {exc} (log: {self.pgdata / 'log'})"
            ) from exc
        if new:  # a new data directory starts with a keyed audit chain (the key stays outside the database)
            create_key_file(data_dir / AUDIT_KEY_FILE)
        return server

    def url(self, database: str) -> str:
        """URL of ``database`` in this server, created on first use."""
        admin = sa.create_engine(normalise_url(self._server.get_uri()), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
                if not exists:
                    try:
                        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
                    except sa.exc.ProgrammingError as exc:  # another process created it first
                        if "already exists" not in str(exc):
                            raise
        finally:
            admin.dispose()
        return normalise_url(self._server.get_uri(database))

    def running(self) -> bool:
        """Whether the server's postmaster process is alive (its postmaster.pid names a running process)."""
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info is not None and info.is_running()

    def revive(self) -> bool:
        """Start the server again when it died (killed, crashed); True when it had to be restarted."""
        if self.running():
            return False
        log.error("embedded PostgreSQL in %s is not running – restarting it", self.pgdata)
        with self._server._lock:  # pgserver's inter-process lock: one process restarts it
            self._server.ensure_postgres_running()
        log.warning("embedded PostgreSQL in %s restarted (pid %s)", self.pgdata, self._server.get_pid())
        return True

    def stop(self) -> None:
        """Release this reference; the last one releases the process's handle, and the server stops
        when no other process holds one."""
        with _SERVERS_LOCK:
            if self._released:
                return
            self._released = True
            server, count = _SERVERS[self.pgdata]
            if count > 1:
                _SERVERS[self.pgdata] = (server, count - 1)
                return
            del _SERVERS[self.pgdata]
        server.cleanup()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def describe_url(url: str) -> str:
    """A URL without its password, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


DISK_FULL = "53100"  # SQLSTATE disk_full


def database_error(exc: OperationalError) -> RathausError:
    """The readable error for an operational database error: a full disk of the server (503 storage-full: the
    transaction was rolled back, nothing half-written), else the database unavailable (503)."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if getattr(exc.orig, "sqlstate", None) == DISK_FULL:
        return DatabaseStorageFull(f"the database server's disk is full ({reason}); nothing was stored – free space "
                                   "on the database volume and retry", headers={"Retry-After": "60"})
    return DatabaseUnavailable(f"database error: {reason}")


class Database:
    """Engine and sessions; owns the embedded server when no URL is configured."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedded: EmbeddedServer | None = None
        if settings.database_url:
            url = normalise_url(settings.database_url)
        else:
            self.embedded = EmbeddedServer(settings.data_dir)
            url = self.embedded.url(settings.database_name)
        self.url = url
        try:
            self.engine: Engine = sa.create_engine(
                url, pool_pre_ping=True, pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow, connect_args=_connect_args(url)
            )
        except Exception as exc:
            raise DatabaseUnavailable(f"invalid database URL {describe_url(url)}: {exc}") from exc
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._supervisor: tuple[threading.Event, threading.Thread] | None = None

    def supervise(self, interval_s: float = 5.0) -> None:
        """Keep the embedded server running (``rathaus up`` / ``serve``): every ``interval_s`` it is checked and,
        when it died, restarted with a log line; requests meanwhile get 503 and succeed again afterwards (the pool
        pre-pings). Nothing to do with an external database, which its operator supervises."""
        if self.embedded is None or self._supervisor is not None:
            return
        stop = threading.Event()
        atexit.register(stop.set)  # registered after pgserver's own exit hook, so it runs first: no restart at exit

        def watch() -> None:
            while not stop.wait(interval_s):
                server = self.embedded
                if server is None or stop.is_set() or sys.is_finalizing():
                    return
                try:
                    server.revive()
                except Exception as exc:  # tried again at the next check
                    log.error("embedded PostgreSQL could not be restarted: %s (log: %s)", exc, server.pgdata / "log")

        thread = threading.Thread(target=watch, name="rathaus-pg-supervisor", daemon=True)
        thread.start()
        self._supervisor = (stop, thread)

    def check(self) -> None:
        """Raise DatabaseUnavailable with one readable line when the server cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(f"database unreachable at {describe_url(self.url)}: {reason}") from exc

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        try:
            with self.sessionmaker() as session, session.begin():
                yield session
        except OperationalError as exc:
            raise database_error(exc) from exc

    def close(self) -> None:
        if self._supervisor is not None:
            stop, thread = self._supervisor
            stop.set()
            thread.join(30)
            self._supervisor = None
        self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


@contextlib.contextmanager
def session_scope(session_or_db: Session | Database) -> Iterator[Session]:
    """A Session as given (the caller's transaction), or a new transaction of a :class:`Database`."""
    if isinstance(session_or_db, Session):
        yield session_or_db
    else:
        with session_or_db.session() as session:
            yield session


def _connect_args(url: str) -> dict[str, Any]:
    if url.startswith("postgresql+psycopg"):
        return {"connect_timeout": 5, "application_name": "rathaus"}
    return {}
