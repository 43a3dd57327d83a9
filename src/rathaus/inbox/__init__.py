"""Input management (``rathaus.inbox``): incoming requests from mail, web form, API and Zammad are stored, routed
to a department, their data taken over, duplicates and patterns found, and replies drafted for a case worker who
approves before anything is sent. See docs/inbox.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rathaus.core.settings import Settings

__all__ = ["outbound_mail_configured", "send_plain_mail"]


def outbound_mail_configured(settings: Settings) -> bool:
    """Whether outgoing mail is set up (RATHAUS_INBOX_SMTP_HOST): other capabilities send through it."""
    from rathaus.inbox.settings import InboxSettings

    return bool(settings.section(InboxSettings).inbox_smtp_host)


def send_plain_mail(settings: Settings, *, to: str, subject: str, body: str) -> str:
    """Send a plain-text mail through the inbox's SMTP account; returns its Message-ID. A server that cannot be
    reached or refuses the mail → UpstreamError with the server's reason; no SMTP server → ConfigError."""
    from rathaus.core.errors import UpstreamError
    from rathaus.inbox.channels import smtp_account
    from rathaus.inbox.mail import MailServerUnavailable
    from rathaus.inbox.settings import InboxSettings
    from rathaus.inbox.smtp import MailRejected, SmtpLoginFailed, new_message_id, send_reply

    account = smtp_account(settings.section(InboxSettings))
    domain = account.sender.rpartition("@")[2] or "localhost"
    try:
        return send_reply(account, to=to, subject=subject, body=body, message_id=new_message_id(domain))
    except (MailServerUnavailable, MailRejected, SmtpLoginFailed) as exc:
        raise UpstreamError(f"mail not sent: {exc}") from None
