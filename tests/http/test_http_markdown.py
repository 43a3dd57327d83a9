"""Chat messages are Markdown in the assistants; the API and the pages add the safe HTML (rathaus.http.markdown)."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from rathaus.assistants.conversation import message_json
from rathaus.http.markdown import render, with_html


def _message(role: str, content: str) -> SimpleNamespace:
    return SimpleNamespace(seq=2, role=role, content=content, status="ok", meta={"model": "m"},
                           created_at=dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC))


def test_the_domain_returns_markdown_only() -> None:
    data = message_json(_message("assistant", "**fett**"), 7)
    assert list(data) == ["seq", "role", "content", "status", "meta", "created_at", "version"]
    assert data["content"] == "**fett**"


def test_answers_get_escaped_html_in_the_old_place() -> None:
    shown = with_html(message_json(_message("assistant", "**fett** <script>alert(1)</script>"), 7))
    assert list(shown) == ["seq", "role", "content", "status", "meta", "created_at", "html", "version"]
    assert shown["html"] == "<p><strong>fett</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    assert shown["version"] == 7 and shown["content"] == "**fett** <script>alert(1)</script>"
    without_version = with_html(message_json(_message("assistant", "| a |\n|---|\n| 1 |")))
    assert list(without_version)[-1] == "html" and "<table>" in without_version["html"]


def test_own_messages_and_vanished_chats() -> None:
    assert with_html(message_json(_message("user", "**nicht gerendert**")))["html"] is None
    assert with_html({}) == {}  # the chat was deleted while the answer streamed
    assert render("") == "" and render(None) == ""  # type: ignore[arg-type]


def test_the_api_stream_the_history_and_the_page_show_the_html(client) -> None:
    chat = client.post("/api/v1/chats", json={"data_class": "intern"}).json()
    with client.stream("POST", f"/api/v1/chats/{chat['id']}/messages",
                       json={"content": "Antworte nur mit dem Wort Ja.", "version": chat["version"]}) as resp:
        assert resp.status_code == 200
        events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith("data: ")]
    final = events[-1]
    assert final["type"] == "final" and final["message"]["role"] == "assistant"
    answer = final["message"]
    assert list(answer) == ["seq", "role", "content", "status", "meta", "created_at", "html", "version"]
    assert answer["content"].strip() and answer["html"] == render(answer["content"])
    history = client.get(f"/api/v1/chats/{chat['id']}").json()["messages"]
    assert [m["html"] for m in history] == [None, answer["html"]]
    page = client.get(f"/chat/{chat['id']}")
    assert page.status_code == 200 and f'<div class="body md">{answer["html"]}</div>' in page.text
