"""fetch_new against a real Dovecot on loopback: at-least-once, idempotent, server down."""

from __future__ import annotations

import pytest
from mailservers import (
    DovecotServer,
    TlsFiles,
    dovecot,
    dovecot_tls,
    dovecot_without_move,
    dovecot_without_move_with_uidplus,
    free_port,
    tls_files,
)

from rathaus.inbox.imap import FetchReport, ImapAccount, MailboxError, MailLoginFailed, fetch_new
from rathaus.inbox.mail import MailServerUnavailable
from rathaus.inbox.message import IncomingMessage

__all__ = ["dovecot", "dovecot_tls", "dovecot_without_move", "dovecot_without_move_with_uidplus",
           "tls_files"]  # the fixtures, imported for pytest

SEEN = b"\\Seen"


def mail(n: int, subject: str = "Antrag") -> bytes:
    return (f"From: Person {n} <person{n}@example.org>\r\nTo: amt@stadt.example\r\n"
            f"Subject: {subject} {n}\r\nMessage-ID: <m{n}@example.org>\r\n"
            f"Date: Mon, 03 Mar 2025 10:0{n % 10}:00 +0100\r\n\r\nText {n}\r\n").encode()


def account(server: DovecotServer, **kwargs: object) -> ImapAccount:
    values: dict[str, object] = {"host": server.host, "port": server.port, "username": server.user,
                                 "password": server.password, "security": "none", "mailbox": "sozialamt"}
    values.update(kwargs)
    return ImapAccount(**values)  # type: ignore[arg-type]


class Store:
    """An idempotent store like the intake's: keyed by Message-ID, returns True when stored or known."""

    def __init__(self) -> None:
        self.messages: dict[str, IncomingMessage] = {}
        self.calls: list[str] = []
        self.fail_next = 0

    def __call__(self, message: IncomingMessage, raw: bytes) -> bool:
        self.calls.append(message.external_id)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("database is down")
        assert raw.startswith(b"From:")
        self.messages.setdefault(message.external_id, message)
        return True


def test_fetches_unseen_marks_seen_after_store(dovecot: DovecotServer) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(2), flags=(SEEN,))  # already read by a person: not ours
    dovecot.deliver(mail(3))
    store = Store()
    report = fetch_new(account(dovecot), store)
    assert isinstance(report, FetchReport)
    assert (report.unseen, report.stored, report.failed) == (2, 2, [])
    assert report.message_ids == ["<m1@example.org>", "<m3@example.org>"]
    assert report.uidvalidity and not report.uidvalidity_changed
    first = store.messages["<m1@example.org>"]
    assert (first.channel, first.mailbox, first.subject, first.body) == ("mail", "sozialamt", "Antrag 1", "Text 1")
    assert first.sender_address == "person1@example.org"
    assert first.meta["imap_uid"] == "1"
    assert all(SEEN in flags for flags in dovecot.flags().values())
    again = fetch_new(account(dovecot), store)
    assert (again.unseen, again.stored) == (0, 0)
    assert store.calls == ["<m1@example.org>", "<m3@example.org>"]


def test_same_message_id_twice_is_stored_once(dovecot: DovecotServer) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(1))  # delivered twice (e.g. to two aliases of the mailbox)
    store = Store()
    report = fetch_new(account(dovecot), store)
    assert store.calls == ["<m1@example.org>", "<m1@example.org>"]
    assert list(store.messages) == ["<m1@example.org>"]
    assert report.stored == 2  # both copies are handled and marked
    assert fetch_new(account(dovecot), store).unseen == 0


def test_store_failure_leaves_message_unseen_and_next_poll_gets_it(dovecot: DovecotServer) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(2))
    store = Store()
    store.fail_next = 1  # the database is down for the first message
    report = fetch_new(account(dovecot), store)
    assert not report.ok
    assert report.failed == [(1, "store failed: database is down")]
    assert report.stored == 1
    assert SEEN not in dovecot.flags()[b"<m1@example.org>"]
    assert SEEN in dovecot.flags()[b"<m2@example.org>"]

    report = fetch_new(account(dovecot), store)
    assert (report.unseen, report.stored, report.message_ids) == (1, 1, ["<m1@example.org>"])
    assert sorted(store.messages) == ["<m1@example.org>", "<m2@example.org>"]


class Crash(BaseException):
    """The process dies (like kill -9 between two statements): nothing after it runs."""


def test_crash_after_store_before_flag_causes_no_duplicate(dovecot: DovecotServer) -> None:
    """The process dies right after the store: the message stays unseen, is fetched again and stored once."""
    dovecot.deliver(mail(1))
    store = Store()

    def store_then_crash(message: IncomingMessage, raw: bytes) -> bool:
        store(message, raw)
        raise Crash

    with pytest.raises(Crash):
        fetch_new(account(dovecot), store_then_crash)
    assert SEEN not in dovecot.flags()[b"<m1@example.org>"]
    report = fetch_new(account(dovecot), store)
    assert report.stored == 1
    assert store.calls == ["<m1@example.org>", "<m1@example.org>"]
    assert len(store.messages) == 1


def test_store_returning_false_keeps_message_unseen(dovecot: DovecotServer) -> None:
    dovecot.deliver(mail(1))
    report = fetch_new(account(dovecot), lambda message, raw: False)
    assert report.failed == [(1, "store did not keep the message")]
    assert SEEN not in dovecot.flags()[b"<m1@example.org>"]


def test_unreadable_mail_stays_unseen_and_others_go_on(dovecot: DovecotServer) -> None:
    dovecot.deliver(b"this is not a mail at all, no header fields\r\n")
    dovecot.deliver(mail(2))
    store = Store()
    report = fetch_new(account(dovecot), store)
    assert report.failed == [(1, "not an e-mail: no header fields found before the body")]
    assert list(store.messages) == ["<m2@example.org>"]


def test_move_to_processed_folder(dovecot: DovecotServer) -> None:
    dovecot.deliver(mail(1))
    dovecot.deliver(mail(2))
    store = Store()
    report = fetch_new(account(dovecot, processed_folder="verarbeitet"), store)
    assert report.stored == 2
    assert dovecot.flags("INBOX") == {}
    assert dovecot.flags("verarbeitet") == {b"<m1@example.org>": {SEEN}, b"<m2@example.org>": {SEEN}}


DELETED = b"\\Deleted"


def _capabilities(server: DovecotServer) -> set[bytes]:
    with server.client() as client:
        return set(client.capabilities())


def _expunged_after_delete_flag(server: DovecotServer) -> list[str]:
    """Message-IDs that Dovecot's mail_log saw expunged while flagged \\Deleted (the COPY path; MOVE logs none)."""
    return [line.split("msgid=", 1)[1].split(",", 1)[0] for line in server.log.read_text().splitlines()
            if "expunge: box=INBOX" in line and "\\Deleted" in line]


def test_server_without_move_copies_flags_and_expunges(dovecot_without_move: DovecotServer) -> None:
    server = dovecot_without_move
    assert not {b"MOVE", b"UIDPLUS"} & _capabilities(server)
    for n in (1, 2, 3):
        server.deliver(mail(n))
    store = Store()
    store.fail_next = 1  # the first one cannot be stored this time: it stays unseen in INBOX, not copied
    report = fetch_new(account(server, processed_folder="verarbeitet"), store)
    assert (report.stored, report.expunged, report.left_deleted) == (2, 2, 0)
    assert report.failed == [(1, "store failed: database is down")]
    assert server.flags("INBOX") == {b"<m1@example.org>": set()}
    assert server.flags("verarbeitet") == {b"<m2@example.org>": {SEEN}, b"<m3@example.org>": {SEEN}}
    assert sorted(_expunged_after_delete_flag(server)) == ["<m2@example.org>", "<m3@example.org>"]

    again = fetch_new(account(server, processed_folder="verarbeitet"), store)
    assert (again.unseen, again.stored, again.expunged) == (1, 1, 1)
    assert server.flags("INBOX") == {}
    assert server.flags("verarbeitet") == {f"<m{n}@example.org>".encode(): {SEEN} for n in (1, 2, 3)}
    # every message handed to the store exactly once after it was stored; none lost, none fetched twice
    assert store.calls == ["<m1@example.org>", "<m2@example.org>", "<m3@example.org>", "<m1@example.org>"]
    assert fetch_new(account(server, processed_folder="verarbeitet"), store).unseen == 0


def test_without_uidplus_a_persons_deleted_message_is_not_expunged(dovecot_without_move: DovecotServer) -> None:
    server = dovecot_without_move
    server.deliver(b"From: x@example.org\r\nMessage-ID: <person@example.org>\r\nSubject: weg\r\n\r\nweg\r\n",
                   flags=(SEEN, DELETED))  # a person deleted it in their mail program, not yet expunged
    server.deliver(mail(1))
    store = Store()
    report = fetch_new(account(server, processed_folder="verarbeitet"), store)
    assert (report.stored, report.expunged, report.left_deleted) == (1, 0, 1)
    assert server.flags("INBOX") == {b"<person@example.org>": {SEEN, DELETED}, b"<m1@example.org>": {SEEN, DELETED}}
    assert server.flags("verarbeitet") == {b"<m1@example.org>": {SEEN}}
    assert fetch_new(account(server, processed_folder="verarbeitet"), store).unseen == 0  # not fetched twice
    assert store.calls == ["<m1@example.org>"]


def test_without_move_uid_expunge_removes_only_ours(dovecot_without_move_with_uidplus: DovecotServer) -> None:
    server = dovecot_without_move_with_uidplus
    caps = _capabilities(server)
    assert b"UIDPLUS" in caps and b"MOVE" not in caps
    server.deliver(b"From: x@example.org\r\nMessage-ID: <person@example.org>\r\nSubject: weg\r\n\r\nweg\r\n",
                   flags=(SEEN, DELETED))
    server.deliver(mail(1))
    server.deliver(mail(2))
    store = Store()
    report = fetch_new(account(server, processed_folder="verarbeitet"), store)
    assert (report.stored, report.expunged, report.left_deleted) == (2, 2, 0)
    assert server.flags("INBOX") == {b"<person@example.org>": {SEEN, DELETED}}
    assert server.flags("verarbeitet") == {b"<m1@example.org>": {SEEN}, b"<m2@example.org>": {SEEN}}
    assert sorted(_expunged_after_delete_flag(server)) == ["<m1@example.org>", "<m2@example.org>"]


def test_limit_and_uidvalidity_change(dovecot: DovecotServer) -> None:
    for n in (1, 2, 3):
        dovecot.deliver(mail(n))
    store = Store()
    report = fetch_new(account(dovecot), store, limit=2, known_uidvalidity=1)
    assert (report.unseen, report.stored) == (3, 2)
    assert report.uidvalidity_changed == (report.uidvalidity != 1)
    same = fetch_new(account(dovecot), store, known_uidvalidity=report.uidvalidity)
    assert not same.uidvalidity_changed
    assert same.message_ids == ["<m3@example.org>"]


def test_attachment_limit_is_passed_on(dovecot: DovecotServer) -> None:
    raw = (b"From: a@example.org\r\nMessage-ID: <big@example.org>\r\nSubject: Anlage\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSiehe Anlage\r\n'
           b'--B\r\nContent-Type: text/plain; name="a.txt"\r\nContent-Disposition: attachment; filename="a.txt"\r\n\r\n'
           + b"x" * 2000 + b"\r\n--B--\r\n")
    dovecot.deliver(raw)
    store = Store()
    fetch_new(account(dovecot), store, max_attachment_bytes=1000)
    (attachment,) = store.messages["<big@example.org>"].attachments
    assert attachment.data == b""
    assert (attachment.problem or "").startswith("too large")


def test_server_down_is_mail_server_unavailable(dovecot: DovecotServer) -> None:
    dovecot.stop()
    with pytest.raises(MailServerUnavailable, match=rf"IMAP server 127.0.0.1:{dovecot.port} not reachable"):
        fetch_new(account(dovecot), Store())


def test_nothing_listening_is_mail_server_unavailable() -> None:
    closed = ImapAccount(host="127.0.0.1", port=free_port(), username="x", password="y", security="ssl",
                         timeout=3)
    with pytest.raises(MailServerUnavailable, match="not reachable"):
        fetch_new(closed, Store())


def test_wrong_password_and_missing_folder(dovecot: DovecotServer) -> None:
    with pytest.raises(MailLoginFailed, match=f"IMAP login as {dovecot.user} on 127.0.0.1 refused"):
        fetch_new(account(dovecot, password="wrong"), Store())
    with pytest.raises(MailboxError, match="IMAP folder 'Nirgendwo' of"):
        fetch_new(account(dovecot, folder="Nirgendwo"), Store())


def test_password_is_not_in_repr() -> None:
    assert "geheim" not in repr(ImapAccount(host="h", username="u", password="geheim"))


def test_implicit_tls_and_starttls(dovecot_tls: DovecotServer, tls_files: TlsFiles) -> None:
    dovecot_tls.deliver(mail(1))
    dovecot_tls.deliver(mail(2))
    store = Store()
    trusted = tls_files.client_context()
    report = fetch_new(account(dovecot_tls, security="ssl", port=dovecot_tls.tls_port, ssl_context=trusted),
                       store, limit=1)
    assert report.message_ids == ["<m1@example.org>"]
    report = fetch_new(account(dovecot_tls, security="starttls", ssl_context=trusted), store)
    assert report.message_ids == ["<m2@example.org>"]


def test_untrusted_certificate_is_refused(dovecot_tls: DovecotServer) -> None:
    dovecot_tls.deliver(mail(1))
    with pytest.raises(MailServerUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_new(account(dovecot_tls, security="ssl", port=dovecot_tls.tls_port), Store())
    assert SEEN not in dovecot_tls.flags()[b"<m1@example.org>"]
