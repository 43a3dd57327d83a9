"""The configured channels: IMAP mailboxes, the SMTP server and the Zammad client, built from the inbox's
settings (secrets from the environment, never logged)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rathaus.core.errors import ConfigError
from rathaus.inbox.settings import InboxSettings

if TYPE_CHECKING:
    from rathaus.inbox.imap import ImapAccount
    from rathaus.inbox.smtp import SmtpAccount
    from rathaus.inbox.zammad import ZammadClient
    from rathaus.runtime import Runtime


def imap_accounts(settings: InboxSettings) -> list[ImapAccount]:
    """One account per configured department mailbox (RATHAUS_INBOX_MAILBOXES)."""
    from rathaus.inbox.imap import ImapAccount

    accounts = []
    for department, box in settings.inbox_mailboxes.items():
        password = os.environ.get(box.password_env)
        if password is None:
            raise ConfigError(f"mailbox of {department}: the environment variable {box.password_env} (password) "
                              "is not set")
        accounts.append(ImapAccount(host=box.host, username=box.user, password=password, port=box.port,
                                    security=box.security, folder=box.folder, processed_folder=box.processed_folder,
                                    mailbox=department))
    return accounts


def smtp_account(settings: InboxSettings) -> SmtpAccount:
    from rathaus.inbox.smtp import SmtpAccount

    if not settings.inbox_smtp_host:
        raise ConfigError("no SMTP server for replies: set RATHAUS_INBOX_SMTP_HOST")
    password = settings.inbox_smtp_password.get_secret_value() if settings.inbox_smtp_password else None
    return SmtpAccount(host=settings.inbox_smtp_host, sender=settings.inbox_smtp_from, port=settings.inbox_smtp_port,
                       security=settings.inbox_smtp_security, username=settings.inbox_smtp_user, password=password)


def zammad_client(runtime: Runtime) -> ZammadClient:
    from rathaus.core.outbound import OutboundPolicy
    from rathaus.inbox.zammad import ZammadClient

    settings = runtime.settings.section(InboxSettings)
    if not settings.inbox_zammad_url or settings.inbox_zammad_token is None:
        raise ConfigError("Zammad is not configured: set RATHAUS_INBOX_ZAMMAD_URL and RATHAUS_INBOX_ZAMMAD_TOKEN")
    return ZammadClient(settings.inbox_zammad_url, settings.inbox_zammad_token.get_secret_value(),
                        policy=OutboundPolicy.from_settings(runtime.settings))
