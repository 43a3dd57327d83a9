"""Zammad: receive ticket articles by webhook, write routing results and drafts back over the REST API.

Webhook (Zammad's trigger action "Webhook", default payload ``{"ticket": {...}, "article": {...}}``): Zammad signs
the raw body with HMAC-SHA1 of the webhook's signature token and sends ``X-Hub-Signature: sha1=<hex>``, the
trigger's name in ``X-Zammad-Trigger`` and a delivery id in ``X-Zammad-Delivery`` that stays the same when Zammad
retries (it does so up to 5 times when we do not answer 2xx). :func:`verify_signature` checks the signature in
constant time, :func:`parse_webhook` turns a customer's article into an :class:`IncomingMessage` whose
``external_id`` is ``"<ticket id>/<article id>"``: a repeated delivery, or a second trigger firing for the same
article, is the same message. Articles written by agents or the system, and internal ones (our own notes among
them), are not requests: :class:`ZammadIgnoredDelivery` says why, and the receiver answers 2xx so Zammad does not
retry. (Source: zammad/zammad ``app/jobs/trigger_webhook_job.rb`` and ``lib/user_agent.rb``; see
tests/inbox/fixtures/zammad/README.md.)

REST (:class:`ZammadClient`): ``Authorization: Token token=…``; ticket update ``PUT /api/v1/tickets/{id}``, tags
``POST /api/v1/tags/add``, articles ``POST /api/v1/ticket_articles`` – as documented in Zammad's API docs. Its
connections go through the platform's outbound policy (:mod:`rathaus.core.outbound`): a Zammad in the intranet
must be allow-listed in ``RATHAUS_OUTBOUND_ALLOW``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import httpx

from rathaus.core.outbound import OutboundPolicy, OutboundRefused
from rathaus.inbox.mail import html_to_text
from rathaus.inbox.message import Attachment, IncomingMessage

__all__ = ["SIGNATURE_HEADER", "ZammadClient", "ZammadError", "ZammadIgnoredDelivery", "ZammadPayloadError",
           "ZammadSignatureError", "ZammadUnavailable", "parse_webhook", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Zammad-Delivery"
TRIGGER_HEADER = "X-Zammad-Trigger"
_SIGNATURE = re.compile(r"sha1=([0-9a-f]{40})", re.IGNORECASE)
_MSG_ID = re.compile(r"<[^<>\s]+>")


# --- webhook ---

class ZammadSignatureError(PermissionError):
    """A webhook delivery whose signature is missing, malformed or wrong; ``reason`` is one of those words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ZammadPayloadError(ValueError):
    """A webhook body that is not Zammad's ticket/article payload; the message is one readable line."""


class ZammadIgnoredDelivery(ZammadPayloadError):
    """A valid delivery that is not a new request (no article, an agent's or system article, an internal note)."""


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value Zammad sends for ``body``: ``sha1=`` and the hex HMAC-SHA1 with ``secret``."""
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> None:
    """Check a delivery's ``X-Hub-Signature`` against the raw request ``body``; raises :class:`ZammadSignatureError`.

    ``secret`` is the webhook's "HMAC SHA1 Signature Token" in Zammad. The comparison takes constant time.
    """
    if not secret:
        raise ValueError("no Zammad signature token configured: every delivery would be accepted unsigned")
    if header is None or not header.strip():
        raise ZammadSignatureError("missing", f"the {SIGNATURE_HEADER} header is missing: set the webhook's "
                                              "HMAC SHA1 Signature Token in Zammad")
    found = _SIGNATURE.fullmatch(header.strip())
    if found is None:
        raise ZammadSignatureError("malformed", f"the {SIGNATURE_HEADER} header is not 'sha1=' and 40 hex digits")
    expected = sign(body, secret)[len("sha1="):]
    if not hmac.compare_digest(found.group(1).lower(), expected):
        raise ZammadSignatureError("wrong", f"the {SIGNATURE_HEADER} signature does not match the body "
                                            "(wrong token or altered request)")


def parse_webhook(payload: Mapping[str, Any], delivery_id: str) -> IncomingMessage:
    """A customer's article from Zammad's default webhook payload as an incoming message of channel "zammad".

    ``external_id`` is ``"<ticket id>/<article id>"``; the ticket's group is the mailbox, the ticket's customer the
    sender, the article body (HTML) becomes text. Attachments are listed with their Zammad URL (they need the API
    token: :meth:`ZammadClient.attachment`). Raises :class:`ZammadIgnoredDelivery` for deliveries that are not a
    customer's new article and :class:`ZammadPayloadError` for bodies that are not Zammad's payload.
    """
    if not isinstance(payload, Mapping):
        raise ZammadPayloadError(f"webhook body must be a JSON object, not {type(payload).__name__}")
    ticket = payload.get("ticket")
    if not isinstance(ticket, Mapping) or not _is_id(ticket.get("id")):
        raise ZammadPayloadError("webhook body has no ticket with an id: is the webhook's payload customised? "
                                 "rathaus expects Zammad's default payload")
    ticket_id = int(ticket["id"])
    article = payload.get("article")
    if not isinstance(article, Mapping) or not article:
        raise ZammadIgnoredDelivery(f"ticket {ticket_id} changed without a new article: nothing to take in")
    if not _is_id(article.get("id")):
        raise ZammadPayloadError(f"the article of ticket {ticket_id} has no id")
    article_id = int(article["id"])
    if _is_id(article.get("ticket_id")) and int(article["ticket_id"]) != ticket_id:
        raise ZammadPayloadError(f"article {article_id} belongs to ticket {article['ticket_id']}, not {ticket_id}")
    sender_role = str(article.get("sender") or "")
    if article.get("internal") is True:
        raise ZammadIgnoredDelivery(f"article {article_id} of ticket {ticket_id} is internal: not a request")
    if sender_role and sender_role != "Customer":
        raise ZammadIgnoredDelivery(f"article {article_id} of ticket {ticket_id} was written by {sender_role}, "
                                    "not by the customer")

    problems: list[str] = []
    body = _article_text(article)
    if not body.strip():
        problems.append("the article has no text")
    name, address = _customer(ticket, article)
    meta = {"zammad_ticket_id": str(ticket_id), "zammad_article_id": str(article_id),
            "zammad_delivery_id": delivery_id}
    for key, value in (("zammad_ticket_number", ticket.get("number")), ("zammad_article_type", article.get("type")),
                       ("zammad_state", _name(ticket.get("state"))),
                       ("zammad_priority", _name(ticket.get("priority")))):
        if value not in (None, ""):
            meta[key] = str(value)
    return IncomingMessage(
        channel="zammad", external_id=f"{ticket_id}/{article_id}",
        subject=" ".join(str(article.get("subject") or ticket.get("title") or "").split()), body=body,
        sender_address=address, sender_name=name, received_at=_timestamp(article.get("created_at"), problems),
        mailbox=_name(ticket.get("group")), in_reply_to=_first_id(article.get("in_reply_to")),
        references=_MSG_ID.findall(str(article.get("references") or "")),
        attachments=[_attachment(a) for a in article.get("attachments") or [] if isinstance(a, Mapping)],
        problems=problems, meta=meta,
    )


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
        isinstance(value, str) and value.isdigit())


def _name(value: Any) -> str | None:
    """A related record's name: the default payload resolves groups and priorities to objects with "name";
    custom payloads and older versions send the name itself."""
    if isinstance(value, Mapping):
        value = value.get("name")
    return str(value) if value not in (None, "") else None


def _article_text(article: Mapping[str, Any]) -> str:
    body = str(article.get("body") or "")
    if "html" in str(article.get("content_type") or "").lower():
        return html_to_text(body)
    return body.replace("\r\n", "\n").strip()


def _customer(ticket: Mapping[str, Any], article: Mapping[str, Any]) -> tuple[str | None, str | None]:
    customer = ticket.get("customer")
    if isinstance(customer, Mapping) and customer.get("email"):
        name = " ".join(str(customer.get(k) or "") for k in ("firstname", "lastname")).strip()
        return name or None, str(customer["email"]).lower()
    name, address = parseaddr(str(article.get("from") or ""))
    return (name or None), (address.lower() if "@" in address else None)


def _timestamp(value: Any, problems: list[str]) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"unreadable article time {str(value)[:40]!r}")
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _first_id(value: Any) -> str | None:
    found = _MSG_ID.search(str(value or ""))
    return found.group(0) if found else None


def _attachment(item: Mapping[str, Any]) -> Attachment:
    raw_preferences = item.get("preferences")
    preferences: Mapping[str, Any] = raw_preferences if isinstance(raw_preferences, Mapping) else {}
    ctype = str(preferences.get("Mime-Type") or preferences.get("Content-Type") or "application/octet-stream")
    where = item.get("url") or f"attachment {item.get('id')}"
    return Attachment(filename=str(item.get("filename") or f"attachment-{item.get('id')}"),
                      content_type=ctype.split(";", 1)[0].strip(), data=b"",
                      problem=f"not downloaded yet ({item.get('size', '?')} bytes at {where})")


# --- REST client ---

class ZammadError(RuntimeError):
    """Zammad refused a request (token, permission, unknown ticket, invalid field); retrying will not help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ZammadUnavailable(ConnectionError):
    """Zammad cannot be reached or answered 5xx: retry later. ``request_sent`` is False when the request surely
    did not arrive (connection refused): then a retry cannot post an article twice."""

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


@dataclass(frozen=True)
class TicketUpdate:
    ticket: dict[str, Any]
    tags_added: list[str]


class ZammadClient:
    """Writes routing results, internal notes and replies back to Zammad tickets.

    Without ``transport`` every connection goes through ``policy`` (default: public addresses only; pass
    ``OutboundPolicy.from_settings(settings)`` so an intranet Zammad allowed in RATHAUS_OUTBOUND_ALLOW is
    reachable). A ``transport`` (tests) is used as given.
    """

    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None, *,
                 policy: OutboundPolicy | None = None, timeout: float = 30.0, verify: Any = True) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"Zammad URL must start with https:// (or http://), not {base_url!r}")
        if not token:
            raise ValueError("no Zammad API token given")
        self.base_url = base_url.rstrip("/")
        transport = transport or (policy or OutboundPolicy()).transport(verify=verify)
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout, trust_env=False,
                                  follow_redirects=False,
                                  headers={"Authorization": f"Token token={token}", "Accept": "application/json",
                                           "User-Agent": "rathaus-inbox"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZammadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the token
        return f"ZammadClient({self.base_url!r})"

    def update_ticket(self, ticket_id: int, *, group: str | None = None, priority: str | None = None,
                      tags: Iterable[str] = ()) -> TicketUpdate:
        """Set the ticket's group and priority (by name, e.g. "Sozialamt", "3 high") and add tags."""
        changes = {k: v for k, v in (("group", group), ("priority", priority)) if v is not None}
        ticket: dict[str, Any] = {}
        if changes:
            ticket = self._request("PUT", f"/api/v1/tickets/{int(ticket_id)}", changes, what=f"ticket {ticket_id}")
        added: list[str] = []
        for tag in dict.fromkeys(t.strip() for t in tags if t.strip()):
            self._request("POST", "/api/v1/tags/add", {"item": tag, "object": "Ticket", "o_id": int(ticket_id)},
                          what=f"tag {tag!r} on ticket {ticket_id}")
            added.append(tag)
        return TicketUpdate(ticket=ticket, tags_added=added)

    def add_internal_note(self, ticket_id: int, body_html: str, *, subject: str | None = None) -> dict[str, Any]:
        """An internal note (visible to agents only) with the suggestion and the draft, as HTML."""
        article: dict[str, Any] = {"ticket_id": int(ticket_id), "body": body_html, "content_type": "text/html",
                                   "type": "note", "internal": True, "sender": "Agent"}
        if subject:
            article["subject"] = subject
        return self._request("POST", "/api/v1/ticket_articles", article, what=f"note on ticket {ticket_id}")

    def add_reply(self, ticket_id: int, *, to: str, subject: str, body: str, content_type: str = "text/plain",
                  cc: str | None = None, in_reply_to: str | None = None) -> dict[str, Any]:
        """An e-mail article to the customer: Zammad sends it through the ticket's e-mail channel."""
        if content_type not in ("text/plain", "text/html"):
            raise ValueError(f"content_type must be text/plain or text/html, not {content_type!r}")
        article: dict[str, Any] = {"ticket_id": int(ticket_id), "to": to, "subject": subject, "body": body,
                                   "content_type": content_type, "type": "email", "internal": False,
                                   "sender": "Agent"}
        if cc:
            article["cc"] = cc
        if in_reply_to:
            article["in_reply_to"] = in_reply_to
        return self._request("POST", "/api/v1/ticket_articles", article, what=f"reply on ticket {ticket_id}")

    def attachment(self, ticket_id: int, article_id: int, attachment_id: int) -> bytes:
        """The bytes of an article's attachment (the URLs a webhook lists need the token)."""
        path = f"/api/v1/ticket_attachment/{int(ticket_id)}/{int(article_id)}/{int(attachment_id)}"
        response = self._send("GET", path, None, what=f"attachment {attachment_id}")
        return response.content

    def _request(self, method: str, path: str, body: dict[str, Any], *, what: str) -> dict[str, Any]:
        response = self._send(method, path, body, what=what)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise ZammadError(f"Zammad answered {what} with something that is not JSON", response.status_code) \
                from None
        return data if isinstance(data, dict) else {"result": data}

    def _send(self, method: str, path: str, body: dict[str, Any] | None, *, what: str) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=body)
        except OutboundRefused as exc:  # a configuration matter, not an outage: no retry
            raise ZammadError(f"Zammad at {self.base_url} is not allowed: {exc.reason}") from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ZammadUnavailable(f"Zammad at {self.base_url} not reachable: {exc}", request_sent=False) from None
        except httpx.TransportError as exc:
            raise ZammadUnavailable(f"Zammad at {self.base_url} did not answer ({type(exc).__name__}: {exc})",
                                    request_sent=True) from None
        status = response.status_code
        if status >= 500:
            raise ZammadUnavailable(f"Zammad answered {status} for {what}: {_error_text(response)}",
                                    request_sent=True)
        if status in (401, 403):
            raise ZammadError(f"Zammad refused the API token for {what} ({status}): {_error_text(response)}", status)
        if status == 404:
            raise ZammadError(f"Zammad does not know {what} (404): {_error_text(response)}", status)
        if status >= 300:
            raise ZammadError(f"Zammad refused {what} ({status}): {_error_text(response)}", status)
        return response


def _error_text(response: httpx.Response) -> str:
    """Zammad's error answer is ``{"error": ..., "error_human": ...}``; else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and (data.get("error_human") or data.get("error")):
        return str(data.get("error_human") or data.get("error"))[:300]
    return " ".join(response.text.split())[:200] or "no details"
