"""A specialist procedure's webhook endpoint for the data takeover tests: a real HTTP server on loopback
(http.server in a thread) that checks Standard Webhooks signatures with its own HMAC code (not the library rathaus
signs with), answers the status codes a test asks for, and de-duplicates by webhook-id as a receiver should."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SECRET = "whsec_" + base64.b64encode(b"a test secret of the specialist procedure").decode()


def expected_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks, written out here (not the library rathaus uses): base64 HMAC-SHA256 of id.timestamp.body
    with the base64-decoded secret after 'whsec_'."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class Receiver:
    port: int = 0
    answers: list[int] = field(default_factory=list)  # status codes to answer in turn; then 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fachverfahren/eingang"

    def delivered(self) -> list[dict[str, Any]]:
        """What the procedure took in: 2xx answers to validly signed requests, once per webhook-id."""
        return [r for r in self.requests if r["status"] == 200 and r["valid"] and not r["duplicate"]]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server calls it by this name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            webhook_id = self.headers.get("webhook-id", "")
            timestamp = self.headers.get("webhook-timestamp", "")
            signature = self.headers.get("webhook-signature", "")
            valid = bool(webhook_id and timestamp) and hmac.compare_digest(
                signature, expected_signature(SECRET, webhook_id, timestamp, body))
            fresh = abs(dt.datetime.now(dt.UTC).timestamp() - float(timestamp or 0)) < 300
            status = receiver.answers.pop(0) if receiver.answers else (200 if valid and fresh else 401)
            duplicate = status == 200 and webhook_id in receiver.seen_ids
            if status == 200:
                receiver.seen_ids.add(webhook_id)
            receiver.requests.append({"id": webhook_id, "timestamp": timestamp, "valid": valid and fresh,
                                      "status": status, "duplicate": duplicate, "json": json.loads(body),
                                      "path": self.path, "content_type": self.headers.get("content-type")})
            answer = b'{"ok": true}' if status == 200 else b'{"error": "Aktenzeichen unbekannt"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    rec.port, rec.server = server.server_address[1], server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
