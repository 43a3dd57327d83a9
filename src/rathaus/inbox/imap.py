"""Poll one department mailbox over IMAP, at least once and without duplicates.

:func:`fetch_new` reads every unseen message with ``BODY.PEEK[]`` (which leaves it unseen), parses it, hands it to
``store`` and only **after** ``store`` returned True marks it ``\\Seen`` (or moves it to a "processed" folder).
So a crash, a database outage or a killed process between fetching and storing leaves the message unseen and the
next poll fetches it again; a crash after storing but before flagging fetches it again too, and ``store`` – which
must be idempotent on the Message-ID – recognises it and returns True without storing it twice.

UIDVALIDITY: no UID is remembered between polls (the server's ``\\Seen`` flag is the watermark), so a mailbox
whose UIDVALIDITY changed (rebuilt, restored from backup) cannot make us skip or mix up messages; the value is
reported, and a change against ``known_uidvalidity`` is reported as such (all unseen messages are then offered
again, which the idempotent store absorbs).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from rathaus.inbox.mail import DEFAULT_MAX_ATTACHMENT_BYTES, MailError, MailServerUnavailable, parse_mail
from rathaus.inbox.message import IncomingMessage

__all__ = ["FetchReport", "ImapAccount", "MailLoginFailed", "MailboxError", "fetch_new"]

log = logging.getLogger(__name__)
Security = Literal["ssl", "starttls", "none"]
Store = Callable[[IncomingMessage, bytes], bool]


class MailLoginFailed(PermissionError):
    """The server refused the user name or password: a configuration problem, retrying does not help."""


class MailboxError(RuntimeError):
    """The server is up but the mailbox cannot be used (folder missing, command refused)."""


@dataclass(frozen=True)
class ImapAccount:
    """One department mailbox. ``password`` comes from a secret (never logged: not in repr).

    ``security``: "ssl" (implicit TLS, port 993), "starttls" (plain connection upgraded before login, port 143)
    or "none" (only for a server on loopback or in tests). ``processed_folder``: move handled messages there
    (created if missing) instead of only flagging them ``\\Seen``.
    """

    host: str
    username: str
    password: str = field(repr=False)
    port: int | None = None  # default: 993 for "ssl", 143 otherwise
    security: Security = "ssl"
    folder: str = "INBOX"
    processed_folder: str | None = None
    mailbox: str | None = None  # the department this mailbox belongs to (IncomingMessage.mailbox)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)

    def describe(self) -> str:
        return f"{self.username}@{self.host}:{self.effective_port}/{self.folder}"


@dataclass
class FetchReport:
    """What one poll did. ``failed`` lists (uid, reason) of messages left unseen for the next poll."""

    account: str
    uidvalidity: int | None = None
    uidvalidity_changed: bool = False
    unseen: int = 0  # unseen messages found
    stored: int = 0  # store returned True and the message was marked (or moved)
    failed: list[tuple[int, str]] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)  # external ids handed to store successfully
    expunged: int = 0  # copied to the processed folder and expunged here (server without MOVE)
    left_deleted: int = 0  # copied and flagged \Deleted but not expunged (no UIDPLUS, others marked deleted)

    @property
    def ok(self) -> bool:
        return not self.failed


def fetch_new(account: ImapAccount, store: Store, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
              limit: int | None = None, known_uidvalidity: int | None = None) -> FetchReport:
    """Fetch the unseen messages of ``account``, store each, then mark it seen (or move it); see module doc.

    ``store(message, raw)`` persists idempotently and returns True when the message is stored or was already
    known; False or an exception leaves the message unseen (recorded in ``FetchReport.failed``) and the poll
    goes on with the next one. A mail that cannot be parsed at all stays unseen and is reported too.
    ``limit`` caps the messages handled per poll (oldest first).

    Raises :class:`MailServerUnavailable` when the server cannot be reached or drops the connection (retry
    later), :class:`MailLoginFailed` for refused credentials, :class:`MailboxError` for a missing folder.
    """
    report = FetchReport(account=account.describe())
    try:
        client = _connect(account)
    except LoginError as exc:
        raise MailLoginFailed(f"IMAP login as {account.username} on {account.host} refused: {_line(exc)}") from None
    try:
        _poll(client, account, store, report, max_attachment_bytes, limit, known_uidvalidity)
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise MailServerUnavailable(f"IMAP server {account.host}:{account.effective_port} broke the connection: "
                                    f"{_line(exc)}") from None
    finally:
        try:
            client.logout()
        except Exception:  # already gone: nothing to clean up
            log.debug("IMAP logout from %s failed", account.host, exc_info=True)
    return report


def _connect(account: ImapAccount) -> IMAPClient:
    context = account.ssl_context or ssl.create_default_context()
    try:
        client = IMAPClient(account.host, port=account.effective_port, ssl=account.security == "ssl",
                            ssl_context=context, timeout=account.timeout)
        if account.security == "starttls":
            client.starttls(context)
        client.login(account.username, account.password)
    except LoginError:
        raise
    except (OSError, imaplib.IMAP4.abort, IMAPClientError) as exc:
        raise MailServerUnavailable(f"IMAP server {account.host}:{account.effective_port} not reachable: "
                                    f"{_line(exc)}") from None
    return client


def _poll(client: IMAPClient, account: ImapAccount, store: Store, report: FetchReport, max_attachment_bytes: int,
          limit: int | None, known_uidvalidity: int | None) -> None:
    try:
        selected = client.select_folder(account.folder)
    except IMAPClientError as exc:
        raise MailboxError(f"IMAP folder {account.folder!r} of {account.username} cannot be opened: "
                           f"{_line(exc)}") from None
    uidvalidity = selected.get(b"UIDVALIDITY")
    report.uidvalidity = int(uidvalidity) if uidvalidity is not None else None
    if known_uidvalidity is not None and report.uidvalidity != known_uidvalidity:
        report.uidvalidity_changed = True
        log.warning("UIDVALIDITY of %s changed (%s -> %s): all unseen messages are offered again",
                    account.describe(), known_uidvalidity, report.uidvalidity)
    uids = sorted(client.search(["UNSEEN"]))
    report.unseen = len(uids)
    if limit is not None:
        uids = uids[:limit]
    move = account.processed_folder is not None and _prepare_folder(client, account)
    copied: list[int] = []  # moved by COPY + \Deleted (server without MOVE): expunged at the end
    for uid in uids:
        _handle(client, account, uid, store, report, max_attachment_bytes, move, copied)
    if copied:
        _expunge(client, account, copied, report)


def _handle(client: IMAPClient, account: ImapAccount, uid: int, store: Store, report: FetchReport,
            max_attachment_bytes: int, move: bool, copied: list[int]) -> None:
    data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
    raw = data.get(b"BODY[]") if data else None
    if not isinstance(raw, bytes):
        report.failed.append((uid, "message vanished before it was read"))
        return
    try:
        message = parse_mail(raw, mailbox=account.mailbox, max_attachment_bytes=max_attachment_bytes)
    except MailError as exc:
        log.warning("IMAP %s uid %s is not a readable mail, left unseen: %s", account.describe(), uid, exc)
        report.failed.append((uid, str(exc)))
        return
    message.meta.setdefault("imap_uid", str(uid))
    try:
        kept = store(message, raw)
    except Exception as exc:  # the store failed (database down, ...): leave it unseen for the next poll
        log.warning("storing %s from %s failed, left unseen: %s", message.external_id, account.describe(), exc)
        report.failed.append((uid, f"store failed: {_line(exc)}"))
        return
    if not kept:
        report.failed.append((uid, "store did not keep the message"))
        return
    if move:
        if not _move(client, uid, account.processed_folder or ""):
            copied.append(uid)
    else:
        client.add_flags([uid], [b"\\Seen"], silent=True)
    report.stored += 1
    report.message_ids.append(message.external_id)


def _prepare_folder(client: IMAPClient, account: ImapAccount) -> bool:
    folder = account.processed_folder or ""
    try:
        if not client.folder_exists(folder):
            client.create_folder(folder)
    except IMAPClientError as exc:
        raise MailboxError(f"IMAP folder {folder!r} for processed mail cannot be created: {_line(exc)}") from None
    return True


def _move(client: IMAPClient, uid: int, folder: str) -> bool:
    """Move one message (seen first, so an interrupted move cannot bring it back); False if copied + deleted."""
    client.add_flags([uid], [b"\\Seen"], silent=True)
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return True
    client.copy([uid], folder)
    client.delete_messages([uid], silent=True)
    return False


def _expunge(client: IMAPClient, account: ImapAccount, copied: list[int], report: FetchReport) -> None:
    """Remove the copied originals from the folder: ``UID EXPUNGE`` of exactly these (UIDPLUS), else a plain
    ``EXPUNGE`` – but only when no other message carries \\Deleted (a person's deletion is theirs to expunge).
    Left behind, the originals are \\Seen and \\Deleted: never fetched again; they go with the next expunge
    of whoever deleted the other messages."""
    if client.has_capability("UIDPLUS"):
        client.expunge(copied)
        report.expunged += len(copied)
        return
    others = set(client.search(["DELETED"])) - set(copied)
    if others:
        log.warning("IMAP %s has no UIDPLUS and %d other messages marked deleted: %d copied messages stay in "
                    "%s (seen, deleted) until those are expunged", account.describe(), len(others), len(copied),
                    account.folder)
        report.left_deleted = len(copied)
        return
    client.expunge()
    report.expunged += len(copied)


def _line(exc: BaseException | Any) -> str:
    """One line for an error message (imaplib and imapclient often carry the server's bytes)."""
    args: tuple[Any, ...] = getattr(exc, "args", ())
    text = args[0].decode("utf-8", "replace") if len(args) == 1 and isinstance(args[0], bytes) else str(exc)
    if len(text) > 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]  # imapclient wraps the server's bytes in str(): b'[AUTHENTICATIONFAILED] ...'
    text = " ".join(text.split()) or type(exc).__name__
    return text[:300]
