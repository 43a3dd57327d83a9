"""Send an approved reply over SMTP, as a proper answer in the sender's thread.

The caller gives the Message-ID (and keeps it with the reply before sending): if sending is retried after a crash
or a timeout, the same Message-ID goes out again, so the recipient's mail program and our own intake recognise a
duplicate, and the caller can check whether the reply was already sent. ``In-Reply-To`` and ``References`` put
the reply into the sender's thread.

Errors: the server cannot be reached, drops the connection or answers "try later" (4xx) →
:class:`~rathaus.inbox.mail.MailServerUnavailable` (retry later); a recipient refused for good (5xx) →
:class:`RecipientRefused`; credentials refused → :class:`SmtpLoginFailed`; anything else the server refuses →
:class:`MailRejected`. None of them is retried here: retries belong to the job layer.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal

from rathaus.inbox.mail import MailServerUnavailable

__all__ = ["MailRejected", "RecipientRefused", "SmtpAccount", "SmtpLoginFailed", "build_reply", "new_message_id",
           "send_reply"]

Security = Literal["starttls", "ssl", "none"]


class MailRejected(RuntimeError):
    """The server refused the message for good (sender, size, content); retrying the same mail will not help."""


class RecipientRefused(MailRejected):
    """The server refused one or more recipients permanently; ``refused`` maps address → (code, server text)."""

    def __init__(self, refused: dict[str, tuple[int, str]]) -> None:
        self.refused = refused
        shown = "; ".join(f"{addr}: {code} {text}" for addr, (code, text) in refused.items())
        super().__init__(f"recipient refused by the mail server: {shown}")


class SmtpLoginFailed(PermissionError):
    """The SMTP server refused the user name or password: a configuration problem."""


@dataclass(frozen=True)
class SmtpAccount:
    """The department's outgoing mail: server, login (``password`` from a secret, not in repr) and sender.

    ``security``: "starttls" (port 587, upgrade before login; refused if the server cannot), "ssl" (implicit
    TLS, port 465) or "none" (loopback and tests only). Without ``username`` no login is made (a relay that trusts
    the network).
    """

    host: str
    sender: str  # From address, e.g. sozialamt@stadt.example
    sender_name: str | None = None  # e.g. "Stadt Beispiel – Sozialamt"
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


def new_message_id(domain: str) -> str:
    """A fresh Message-ID (``<...@domain>``) for a reply; store it with the reply before sending."""
    return make_msgid(domain=domain)


def build_reply(account: SmtpAccount, *, to: str | Sequence[str], subject: str, body: str, message_id: str,
                in_reply_to: str | None = None, references: Sequence[str] = (), cc: Sequence[str] = (),
                reply_to: str | None = None, html: str | None = None, date: dt.datetime | None = None,
                attachments: Sequence[tuple[str, str, bytes]] = ()) -> EmailMessage:
    """The reply as an ``EmailMessage``: plain text (and an HTML alternative if given); ``attachments`` are
    (filename, content type, data). ``references`` should be the original's References plus its Message-ID."""
    if not message_id.startswith("<") or not message_id.endswith(">") or "@" not in message_id:
        raise ValueError(f"message_id must look like <local@domain>, not {message_id!r}")
    msg = EmailMessage()
    msg["From"] = Address(display_name=account.sender_name or "", addr_spec=account.sender)
    msg["To"] = [to] if isinstance(to, str) else list(to)
    if cc:
        msg["Cc"] = list(cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    chain = list(dict.fromkeys([*references, *([in_reply_to] if in_reply_to else [])]))
    if chain:
        msg["References"] = " ".join(chain)
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


def send_reply(account: SmtpAccount, *, to: str | Sequence[str], subject: str, body: str, message_id: str,
               in_reply_to: str | None = None, references: Sequence[str] = (), cc: Sequence[str] = (),
               reply_to: str | None = None, html: str | None = None,
               attachments: Sequence[tuple[str, str, bytes]] = ()) -> str:
    """Build the reply (:func:`build_reply`) and send it; returns its Message-ID. See the module doc for errors."""
    msg = build_reply(account, to=to, subject=subject, body=body, message_id=message_id, in_reply_to=in_reply_to,
                      references=references, cc=cc, reply_to=reply_to, html=html, attachments=attachments)
    send_message(account, msg)
    return message_id


def send_message(account: SmtpAccount, msg: EmailMessage) -> None:
    """Deliver ``msg`` to the account's server (envelope from the account's sender, recipients from To/Cc/Bcc)."""
    where = f"SMTP server {account.host}:{account.effective_port}"
    context = account.ssl_context or ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if account.security == "ssl":
            smtp = smtplib.SMTP_SSL(account.host, account.effective_port, timeout=account.timeout, context=context)
        else:
            smtp = smtplib.SMTP(account.host, account.effective_port, timeout=account.timeout)
        with smtp:
            if account.security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise MailRejected(f"{where} does not offer STARTTLS; refusing to send in clear text")
                smtp.starttls(context=context)
                smtp.ehlo()
            if account.username:
                smtp.login(account.username, account.password or "")
            refused = smtp.send_message(msg, from_addr=account.sender)
            if refused:  # some recipients accepted, others refused: the accepted ones got the mail
                raise RecipientRefused({a: (c, _text(t)) for a, (c, t) in refused.items()})
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {a: (c, _text(t)) for a, (c, t) in exc.recipients.items()}
        if all(400 <= c < 500 for c, _ in codes.values()):
            raise MailServerUnavailable(f"{where} cannot take the recipients now: "
                                        + "; ".join(f"{a}: {c} {t}" for a, (c, t) in codes.items())) from None
        raise RecipientRefused(codes) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpLoginFailed(f"SMTP login as {account.username} on {account.host} refused: "
                              f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if 400 <= exc.smtp_code < 500:
            raise MailServerUnavailable(f"{where} asks to try later: {exc.smtp_code} {_text(exc.smtp_error)}") \
                from None
        raise MailRejected(f"{where} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
            ssl.SSLError, OSError) as exc:
        raise MailServerUnavailable(f"{where} not reachable: {_text(exc)}") from None
    except smtplib.SMTPResponseException as exc:
        raise MailRejected(f"{where} refused: {exc.smtp_code} {_text(exc.smtp_error)}") from None


def _text(value: object) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:300] or "no details"
