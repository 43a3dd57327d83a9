"""A small OpenAI-compatible HTTP server on loopback whose health a test switches: answers, 500s, closed
connections, streams that break off after their first tokens. Real HTTP (the gateway's `openai` client talks to it
over a socket); its answers are canned, which is all a test of the gateway's failover logic needs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "500", "close", "break"]


class OpenAIServer:
    def __init__(self, name: str, dimensions: int = 8):
        self.name, self.dimensions = name, dimensions
        self.mode: Mode = "ok"
        self.requests = 0  # calls that reached this server (chat and embeddings)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests += 1
                    mode = server.mode
                if mode == "close":  # the connection dies without an answer
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "500":
                    self._json(500, {"error": {"message": f"{server.name} is down", "type": "server_error"}})
                    return
                if self.path.endswith("/embeddings"):
                    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    vec = [1.0 if i == len(server.name) % server.dimensions else 0.0 for i in range(server.dimensions)]
                    self._json(200, {"object": "list", "model": body.get("model"),
                                     "data": [{"object": "embedding", "index": i, "embedding": vec}
                                              for i in range(len(texts))],
                                     "usage": {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)}})
                    return
                answer = f"Antwort von {server.name}"
                if not body.get("stream"):
                    self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                                  "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = answer.split(" ")
                for i, word in enumerate(words):
                    self._event({"choices": [{"index": 0, "delta": {"content": (" " if i else "") + word},
                                              "finish_reason": None}]})
                    if mode == "break":  # one token, then the connection is lost
                        self.close_connection = True
                        return
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._event({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}})
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True

            def _event(self, body: dict[str, Any]) -> None:
                body = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", **body}
                self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
                self.wfile.flush()

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> OpenAIServer:
        threading.Thread(target=self.httpd.serve_forever, name=f"openai-{self.name}", daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def openai_servers(*names: str) -> Iterator[dict[str, OpenAIServer]]:
    servers = {name: OpenAIServer(name).start() for name in names}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()
