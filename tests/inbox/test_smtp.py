"""send_reply against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import pytest
from mailservers import SmtpServer, TlsFiles, free_port, smtp_server, smtp_server_tls, tls_files

from rathaus.inbox.mail import MailServerUnavailable, parse_mail
from rathaus.inbox.smtp import MailRejected, RecipientRefused, SmtpAccount, build_reply, new_message_id, send_reply

__all__ = ["smtp_server", "smtp_server_tls", "tls_files"]  # the fixtures, imported for pytest


def account(server: SmtpServer, **kwargs: object) -> SmtpAccount:
    values: dict[str, object] = {"host": server.host, "port": server.port, "security": "none",
                                 "sender": "sozialamt@stadt.example", "sender_name": "Stadt Beispiel – Sozialamt",
                                 "timeout": 5}
    values.update(kwargs)
    return SmtpAccount(**values)  # type: ignore[arg-type]


def test_reply_arrives_with_thread_headers(smtp_server: SmtpServer) -> None:
    message_id = new_message_id("stadt.example")
    sent = send_reply(account(smtp_server), to="Anna Müller <anna@example.org>", subject="AW: Antrag auf Wohngeld",
                      body="Sehr geehrte Frau Müller,\nIhr Antrag ist eingegangen.\n", message_id=message_id,
                      in_reply_to="<orig@example.org>", references=["<first@example.org>", "<orig@example.org>"])
    assert sent == message_id
    (msg,) = smtp_server.messages
    assert smtp_server.envelopes == [("sozialamt@stadt.example", ["anna@example.org"])]
    assert msg["Message-ID"] == message_id
    assert msg["In-Reply-To"] == "<orig@example.org>"
    assert msg["References"] == "<first@example.org> <orig@example.org>"
    assert msg["Subject"] == "AW: Antrag auf Wohngeld"
    assert msg["From"].addresses[0].display_name == "Stadt Beispiel – Sozialamt"
    assert msg["To"].addresses[0].addr_spec == "anna@example.org"
    assert msg["Date"].datetime is not None
    assert msg.get_content().replace("\r\n", "\n") == "Sehr geehrte Frau Müller,\nIhr Antrag ist eingegangen.\n"
    # our own intake reads the sent mail back as the same thread
    back = parse_mail(msg.as_bytes(), mailbox=None, max_attachment_bytes=1_000_000)
    assert back.external_id == message_id
    assert back.in_reply_to == "<orig@example.org>"


def test_retry_sends_the_same_message_id(smtp_server: SmtpServer) -> None:
    for _ in range(2):
        send_reply(account(smtp_server), to="b@example.org", subject="AW", body="x", message_id="<r1@stadt.example>")
    assert [m["Message-ID"] for m in smtp_server.messages] == ["<r1@stadt.example>"] * 2


def test_html_alternative_cc_and_attachment(smtp_server: SmtpServer) -> None:
    send_reply(account(smtp_server), to=["c@example.org"], cc=["akte@stadt.example"], subject="Bescheid",
               body="Text", html="<p>Text</p>", message_id="<h1@stadt.example>",
               attachments=[("bescheid.pdf", "application/pdf", b"%PDF-1.4 test")])
    (msg,) = smtp_server.messages
    assert smtp_server.envelopes[0][1] == ["c@example.org", "akte@stadt.example"]
    assert msg.get_body(("plain",)).get_content() == "Text\r\n"  # CRLF: as it went over the wire
    assert msg.get_body(("html",)).get_content() == "<p>Text</p>\r\n"
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "bescheid.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_rejected_recipient(smtp_server: SmtpServer) -> None:
    with pytest.raises(RecipientRefused) as info:
        send_reply(account(smtp_server), to="refused@example.org", subject="AW", body="x",
                   message_id="<x1@stadt.example>")
    assert info.value.refused == {"refused@example.org": (550, "5.1.1 mailbox unavailable")}
    assert str(info.value) == ("recipient refused by the mail server: refused@example.org: 550 5.1.1 mailbox "
                               "unavailable")
    assert smtp_server.messages == []


def test_one_of_two_recipients_refused(smtp_server: SmtpServer) -> None:
    with pytest.raises(RecipientRefused, match=r"refused@example\.org: 550"):
        send_reply(account(smtp_server), to=["ok@example.org", "refused@example.org"], subject="AW", body="x",
                   message_id="<x2@stadt.example>")
    assert smtp_server.envelopes == [("sozialamt@stadt.example", ["ok@example.org"])]


def test_temporarily_refused_recipient_is_retryable(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailServerUnavailable, match=r"cannot take the recipients now: busy@example\.org: 451"):
        send_reply(account(smtp_server), to="busy@example.org", subject="AW", body="x",
                   message_id="<x3@stadt.example>")


def test_server_down(smtp_server: SmtpServer) -> None:
    smtp_server.stop()
    with pytest.raises(MailServerUnavailable, match=rf"SMTP server 127.0.0.1:{smtp_server.port} not reachable"):
        send_reply(account(smtp_server), to="d@example.org", subject="AW", body="x", message_id="<x4@stadt.example>")
    nowhere = SmtpAccount(host="127.0.0.1", port=free_port(), sender="a@stadt.example", security="ssl", timeout=3)
    with pytest.raises(MailServerUnavailable, match="not reachable"):
        send_reply(nowhere, to="d@example.org", subject="AW", body="x", message_id="<x5@stadt.example>")


def test_starttls_required_but_not_offered(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailRejected, match="does not offer STARTTLS; refusing to send in clear text"):
        send_reply(account(smtp_server, security="starttls"), to="e@example.org", subject="AW", body="x",
                   message_id="<x6@stadt.example>")
    assert smtp_server.messages == []


def test_bad_message_id_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="message_id must look like <local@domain>"):
        build_reply(SmtpAccount(host="h", sender="a@b.example"), to="x@example.org", subject="s", body="b",
                    message_id="no-brackets")


def test_password_not_in_repr() -> None:
    assert "geheim" not in repr(SmtpAccount(host="h", sender="a@b.example", username="u", password="geheim"))


def test_starttls(smtp_server_tls: SmtpServer, tls_files: TlsFiles) -> None:
    send_reply(account(smtp_server_tls, security="starttls", ssl_context=tls_files.client_context()),
               to="f@example.org", subject="AW", body="verschluesselt", message_id="<t1@stadt.example>")
    assert [m["Message-ID"] for m in smtp_server_tls.messages] == ["<t1@stadt.example>"]
    with pytest.raises(MailServerUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        send_reply(account(smtp_server_tls, security="starttls"), to="f@example.org", subject="AW", body="x",
                   message_id="<t2@stadt.example>")
    with pytest.raises(MailRejected, match="530"):  # the server insists on TLS first
        send_reply(account(smtp_server_tls), to="f@example.org", subject="AW", body="x",
                   message_id="<t3@stadt.example>")
    assert len(smtp_server_tls.messages) == 1
