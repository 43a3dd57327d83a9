"""Zammad contract tests: webhook signature and payload as Zammad makes them, REST requests as Zammad documents them.

The payloads and documented request bodies are in tests/inbox/fixtures/zammad/ (README there: source and commit).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from rathaus.core.outbound import OutboundPolicy
from rathaus.inbox.zammad import (
    ZammadClient,
    ZammadError,
    ZammadIgnoredDelivery,
    ZammadPayloadError,
    ZammadSignatureError,
    ZammadUnavailable,
    parse_webhook,
    sign,
    verify_signature,
)

FIXTURES = Path(__file__).parent / "fixtures" / "zammad"
SECRET = "zammad-webhook-token"  # the webhook's "HMAC SHA1 Signature Token"
TOKEN = "api-token-123"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


DOCUMENTED = fixture("requests_documented.json")


# --- signature (lib/user_agent.rb: OpenSSL::HMAC.hexdigest('sha1', signature_token, request.body)) ---

def raw_body() -> bytes:
    return json.dumps(fixture("webhook_default_payload.json")).encode()


def test_signature_is_zammads_hmac_sha1() -> None:
    body = raw_body()
    expected = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert sign(body, SECRET) == expected
    verify_signature(body, expected, SECRET)
    verify_signature(body, expected.upper().replace("SHA1=", "sha1="), SECRET)  # hex case does not matter


@pytest.mark.parametrize(
    ("header", "reason"),
    [(None, "missing"), ("", "missing"), ("sha256=" + "0" * 64, "malformed"), ("sha1=xyz", "malformed"),
     ("0" * 40, "malformed"), ("sha1=" + "0" * 40, "wrong")],
)
def test_bad_signatures(header: str | None, reason: str) -> None:
    with pytest.raises(ZammadSignatureError) as info:
        verify_signature(raw_body(), header, SECRET)
    assert info.value.reason == reason
    assert "X-Hub-Signature" in str(info.value)


def test_forged_and_altered() -> None:
    body = raw_body()
    with pytest.raises(ZammadSignatureError, match="does not match the body"):
        verify_signature(body, sign(body, "someone-elses-token"), SECRET)
    altered = body.replace(b"Webhook-Test", b"Webhook-Tesx")
    with pytest.raises(ZammadSignatureError) as info:
        verify_signature(altered, sign(body, SECRET), SECRET)
    assert info.value.reason == "wrong"


def test_no_secret_configured_is_refused() -> None:
    with pytest.raises(ValueError, match="no Zammad signature token configured"):
        verify_signature(b"{}", sign(b"{}", ""), "")


# --- payload ---

def test_default_payload_becomes_an_incoming_message() -> None:
    msg = parse_webhook(fixture("webhook_default_payload.json"), "a1b2c3-delivery")
    assert msg.channel == "zammad"
    assert msg.external_id == "81/104"
    assert msg.mailbox == "Service Desk"
    assert (msg.sender_name, msg.sender_address) == ("Emily Adams", "emily@example.com")
    assert msg.subject == "Webhook-Test"  # the article has no subject: the ticket title
    assert msg.body == "This is a simple Webhook Test."
    assert msg.received_at == dt.datetime(2020, 11, 13, 14, 34, 35, 318000, tzinfo=dt.UTC)
    assert msg.meta == {"zammad_ticket_id": "81", "zammad_article_id": "104",
                        "zammad_delivery_id": "a1b2c3-delivery", "zammad_ticket_number": "10081",
                        "zammad_article_type": "phone", "zammad_state": "open", "zammad_priority": "2 normal"}
    (attachment,) = msg.attachments
    assert (attachment.filename, attachment.content_type, attachment.data) == ("image1.jpeg", "image/jpeg", b"")
    assert attachment.problem == ("not downloaded yet (35574 bytes at "
                                  "https://zammad.example.com/api/v1/ticket_attachment/81/104/174)")
    assert msg.problems == []


def test_repeated_delivery_is_the_same_message() -> None:
    payload = fixture("webhook_default_payload.json")
    first = parse_webhook(payload, "delivery-1")
    retry = parse_webhook(copy.deepcopy(payload), "delivery-2")  # a second trigger for the same article
    assert first.external_id == retry.external_id == "81/104"


def email_payload() -> dict[str, Any]:
    payload = fixture("webhook_default_payload.json")
    article = fixture("article_email_customer.json")
    payload["ticket"]["id"] = article["ticket_id"]
    payload["article"] = article
    return payload


def test_customer_email_article() -> None:
    payload = email_payload()
    del payload["ticket"]["customer"]  # then the article's From is the sender
    msg = parse_webhook(payload, "d")
    assert msg.external_id == "5/9"
    assert (msg.sender_name, msg.sender_address) == ("David Bell", "david@example.com")
    assert msg.body.startswith("Hi,")
    assert "1 x Café Kopi susu" in msg.body and "75007 Paris" in msg.body
    assert "<br>" not in msg.body and "<u>" not in msg.body
    assert msg.meta["zammad_article_type"] == "email"


def test_agent_and_internal_articles_are_ignored() -> None:
    payload = email_payload()
    payload["article"] = fixture("article_note_internal.json")
    with pytest.raises(ZammadIgnoredDelivery, match="article 35 of ticket 5 is internal: not a request"):
        parse_webhook(payload, "d")
    payload["article"]["internal"] = False
    with pytest.raises(ZammadIgnoredDelivery, match="was written by Agent, not by the customer"):
        parse_webhook(payload, "d")


def test_delivery_without_article_is_ignored() -> None:
    payload = fixture("webhook_default_payload.json")
    payload["article"] = {}  # RecordPayload.generate(nil) is {}: a trigger on a ticket change
    with pytest.raises(ZammadIgnoredDelivery, match="ticket 81 changed without a new article"):
        parse_webhook(payload, "d")


@pytest.mark.parametrize(
    ("payload", "message"),
    [([], "must be a JSON object"), ({}, "has no ticket with an id"), ({"ticket": {"title": "x"}}, "no ticket"),
     ({"ticket": {"id": 1}, "article": {"body": "x"}}, "the article of ticket 1 has no id"),
     ({"ticket": {"id": 1}, "article": {"id": 2, "ticket_id": 3}}, "article 2 belongs to ticket 3, not 1")],
)
def test_not_zammads_payload(payload: Any, message: str) -> None:
    with pytest.raises(ZammadPayloadError, match=message):
        parse_webhook(payload, "d")


# --- REST client against the documented requests ---

class Recorder:
    """An httpx transport that records requests and answers like Zammad does (201 for created articles)."""

    def __init__(self, status: int = 200, answer: Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return httpx.Response(self.status, json=self.answer)
        if request.url.path == "/api/v1/ticket_articles":
            return httpx.Response(201, json={"id": 36, **json.loads(request.content)})
        if request.url.path == "/api/v1/tags/add":
            return httpx.Response(201, json=True)
        return httpx.Response(200, json={"id": 81, "group_id": 4, "priority_id": 3})

    def bodies(self) -> list[tuple[str, str, Any]]:
        return [(r.method, r.url.path, json.loads(r.content) if r.content else None) for r in self.requests]


def client(recorder: Recorder) -> ZammadClient:
    return ZammadClient("https://zammad.stadt.example/", TOKEN, transport=httpx.MockTransport(recorder))


def documented_keys(*names: str) -> set[str]:
    return set().union(*(DOCUMENTED[n]["body"] for n in names))


def test_update_ticket_requests() -> None:
    recorder = Recorder()
    result = client(recorder).update_ticket(81, group="Sozialamt", priority="3 high", tags=["wohngeld", "eilig",
                                                                                            "wohngeld", " "])
    assert recorder.bodies() == [
        ("PUT", "/api/v1/tickets/81", {"group": "Sozialamt", "priority": "3 high"}),
        ("POST", "/api/v1/tags/add", {"item": "wohngeld", "object": "Ticket", "o_id": 81}),
        ("POST", "/api/v1/tags/add", {"item": "eilig", "object": "Ticket", "o_id": 81}),
    ]
    assert DOCUMENTED["ticket_update"]["method"] == "PUT"
    assert DOCUMENTED["ticket_update"]["path"] == "/api/v1/tickets/{id}"
    assert {"group", "priority"} <= documented_keys("ticket_update")
    assert DOCUMENTED["tags_add"]["path"] == "/api/v1/tags/add"
    assert set(DOCUMENTED["tags_add"]["body"]) == {"item", "object", "o_id"}
    assert DOCUMENTED["tags_add"]["body"]["object"] == "Ticket"
    for request in recorder.requests:
        assert request.headers["Authorization"] == f"Token token={TOKEN}"
        assert DOCUMENTED["auth_header"] == "Authorization: Token token={your_token}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.url.host == "zammad.stadt.example"
    assert result.tags_added == ["wohngeld", "eilig"]
    assert result.ticket["priority_id"] == 3


def test_only_tags_makes_no_ticket_update() -> None:
    recorder = Recorder()
    client(recorder).update_ticket(5, tags=["spam"])
    assert [r.url.path for r in recorder.requests] == ["/api/v1/tags/add"]


def test_internal_note_request() -> None:
    recorder = Recorder()
    article = client(recorder).add_internal_note(81, "<p>Vorschlag: Sozialamt</p>", subject="rathaus: Vorschlag")
    ((method, path, body),) = recorder.bodies()
    assert (method, path) == ("POST", "/api/v1/ticket_articles")
    assert body == {"ticket_id": 81, "body": "<p>Vorschlag: Sozialamt</p>", "content_type": "text/html",
                    "type": "note", "internal": True, "sender": "Agent", "subject": "rathaus: Vorschlag"}
    assert set(body) <= documented_keys("article_create_plain", "article_create_note_with_attachment")
    assert DOCUMENTED["article_create_note_with_attachment"]["body"]["type"] == "note"
    assert DOCUMENTED["article_create_note_with_attachment"]["body"]["internal"] is True
    assert article["id"] == 36


def test_reply_request() -> None:
    recorder = Recorder()
    client(recorder).add_reply(5, to="david@example.com", subject="AW: Bestellung", body="Guten Tag", cc="akte@x.de",
                               in_reply_to="<orig@example.com>")
    ((method, path, body),) = recorder.bodies()
    assert (method, path) == ("POST", "/api/v1/ticket_articles")
    assert body == {"ticket_id": 5, "to": "david@example.com", "subject": "AW: Bestellung", "body": "Guten Tag",
                    "content_type": "text/plain", "type": "email", "internal": False, "sender": "Agent",
                    "cc": "akte@x.de", "in_reply_to": "<orig@example.com>"}
    # every field is documented for articles (in_reply_to: in the article records of articles.rst)
    article_fields = set(fixture("article_email_customer.json"))
    assert set(body) <= documented_keys("article_create_plain", "article_create_note_with_attachment") | \
        article_fields
    with pytest.raises(ValueError, match="content_type must be"):
        client(recorder).add_reply(5, to="x@example.com", subject="s", body="b", content_type="text/markdown")


def test_attachment_download() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/ticket_attachment/81/104/174"
        assert request.headers["Authorization"] == f"Token token={TOKEN}"
        return httpx.Response(200, content=b"\xff\xd8jpeg")

    zammad = ZammadClient("https://zammad.stadt.example", TOKEN, transport=httpx.MockTransport(answer))
    assert zammad.attachment(81, 104, 174) == b"\xff\xd8jpeg"


@pytest.mark.parametrize(
    ("status", "answer", "error", "message"),
    [(401, {"error": "Authorization failed"}, ZammadError, r"refused the API token .* \(401\): Authorization failed"),
     (404, {"error": "Couldn't find Ticket with 'id'=99"}, ZammadError, r"does not know ticket 99 \(404\)"),
     (422, {"error": "Validation failed: x", "error_human": "No such group"}, ZammadError,
      r"refused ticket 99 \(422\): No such group"),
     (503, {"error": "down"}, ZammadUnavailable, r"answered 503 for ticket 99: down")],
)
def test_error_answers(status: int, answer: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as info:
        client(Recorder(status, answer)).update_ticket(99, group="Nirgendwo")
    if isinstance(info.value, ZammadError):
        assert info.value.status == status
    if isinstance(info.value, ZammadUnavailable):
        assert info.value.request_sent


def test_token_not_in_repr_and_bad_arguments() -> None:
    assert TOKEN not in repr(client(Recorder()))
    with pytest.raises(ValueError, match="must start with https://"):
        ZammadClient("zammad.stadt.example", TOKEN)
    with pytest.raises(ValueError, match="no Zammad API token"):
        ZammadClient("https://zammad.stadt.example", "")


# --- outbound policy (real connections on loopback) ---

@pytest.fixture
def local_zammad() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server on 127.0.0.1 answering like Zammad's tag endpoint; yields (base URL, request paths)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b"true"
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_intranet_zammad_needs_the_allow_list(local_zammad: tuple[str, list[str]]) -> None:
    url, seen = local_zammad
    with pytest.raises(ZammadError, match=r"is not allowed: address 127\.0\.0\.1 is not public \(loopback\); "
                                          r"allow it with RATHAUS_OUTBOUND_ALLOW"):
        ZammadClient(url, TOKEN).update_ticket(1, tags=["x"])
    assert seen == []
    allowed = ZammadClient(url, TOKEN, policy=OutboundPolicy(("127.0.0.1",)))
    assert allowed.update_ticket(1, tags=["x"]).tags_added == ["x"]
    assert seen == ["/api/v1/tags/add"]


def test_zammad_down_is_retryable_and_request_not_sent(local_zammad: tuple[str, list[str]]) -> None:
    url, _ = local_zammad
    port = int(url.rsplit(":", 1)[1])
    import socket

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert closed != port
    zammad = ZammadClient(f"http://127.0.0.1:{closed}", TOKEN, policy=OutboundPolicy(("127.0.0.1",)), timeout=3)
    with pytest.raises(ZammadUnavailable, match="not reachable") as info:
        zammad.add_internal_note(1, "<p>x</p>")
    assert info.value.request_sent is False
