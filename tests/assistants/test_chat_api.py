"""The employee assistant's API with the real model: history, turns, documents, own assistants, admin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import pdf_bytes
from oidc import Issuer
from rathaus.app import create_app
from rathaus.core.auth import local_principal
from rathaus.models.gateway import Metrics
from rathaus.runtime import Runtime


@pytest.fixture
def app_client(make_settings, issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    rt = Runtime(make_settings(**issuer.settings()))
    with TestClient(create_app(rt)) as c:
        yield rt, c
    rt.close()


def user(issuer: Issuer, sub: str, department: str, roles: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + issuer.token(sub=sub, department=department, roles=roles or [])}


def new_chat(c: TestClient, headers: dict, **body) -> dict:
    resp = c.post("/api/v1/chats", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def send(c: TestClient, headers: dict, chat: dict, content: str | None, version: int, **kw) -> dict:
    resp = c.post(f"/api/v1/chats/{chat['id']}/messages", headers=headers,
                  json={"content": content, "version": version, "stream": False, **kw})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_history_turns_and_two_tabs(app_client, issuer: Issuer) -> None:
    _, c = app_client
    anna = user(issuer, "anna", "KVR")
    chat = new_chat(c, anna, data_class="intern")
    first = send(c, anna, chat, "Nenne eine Farbe.", chat["version"])
    assert first["message"]["role"] == "assistant" and first["message"]["content"].strip()
    assert first["message"]["meta"]["metrics"]["total_tokens"] > 0 and first["message"]["html"]
    # a second tab still holding the old version is refused, nothing is lost
    stale = c.post(f"/api/v1/chats/{chat['id']}/messages", headers=anna,
                   json={"content": "Noch eine?", "version": chat["version"], "stream": False})
    assert stale.status_code == 409 and stale.json()["current_version"] == first["version"]
    again = send(c, anna, chat, None, first["version"], action="regenerate")
    edited = send(c, anna, chat, "Nenne eine Zahl.", again["version"], action="edit", edit_seq=1)
    body = c.get(f"/api/v1/chats/{chat['id']}", headers=anna).json()
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert body["messages"][0]["content"] == "Nenne eine Zahl." and body["version"] == edited["version"]
    assert body["title"] == "Nenne eine Farbe."  # titled from the first message
    renamed = c.patch(f"/api/v1/chats/{chat['id']}", headers=anna, json={"title": "Farben", "version": body["version"]})
    assert renamed.json()["title"] == "Farben"
    found = c.get("/api/v1/chats", params={"q": "Zahl"}, headers=anna).json()
    assert [x["id"] for x in found] == [chat["id"]] and "Zahl" in found[0]["snippet"]
    md = c.get(f"/api/v1/chats/{chat['id']}/export?format=md", headers=anna)
    assert md.text.startswith("# Farben") and "Nenne eine Zahl." in md.text
    exported = json.loads(c.get(f"/api/v1/chats/{chat['id']}/export?format=json", headers=anna).text)
    assert len(exported["messages"]) == 2


def test_other_users_cannot_open_a_chat(app_client, issuer: Issuer) -> None:
    _, c = app_client
    anna, bernd = user(issuer, "anna", "KVR"), user(issuer, "bernd", "KVR")
    chat = new_chat(c, anna)
    for method, path in (("GET", f"/api/v1/chats/{chat['id']}"), ("DELETE", f"/api/v1/chats/{chat['id']}"),
                         ("GET", f"/api/v1/chats/{chat['id']}/export")):
        assert c.request(method, path, headers=bernd).status_code == 404
    assert c.get("/api/v1/chats", headers=bernd).json() == []
    assert c.get("/api/v1/chats/not-a-uuid", headers=anna).status_code == 404


def test_bad_turns(app_client, issuer: Issuer) -> None:
    _, c = app_client
    anna = user(issuer, "anna", "KVR")
    chat = new_chat(c, anna)
    for body, status in (({"content": "   ", "version": chat["version"]}, 400),
                         ({"content": "x" * 50_000, "version": chat["version"]}, 422),
                         ({"action": "regenerate", "version": chat["version"]}, 400),
                         ({"action": "edit", "edit_seq": 7, "content": "x", "version": chat["version"]}, 400)):
        resp = c.post(f"/api/v1/chats/{chat['id']}/messages", headers=anna, json={**body, "stream": False})
        assert resp.status_code == status, resp.text
    # an option the chat's mode does not take is refused before anything is saved
    tool = new_chat(c, anna, mode="summarise")
    wrong = c.post(f"/api/v1/chats/{tool['id']}/messages", headers=anna,
                   json={"content": "Ein Text.", "version": tool["version"], "stream": False,
                         "options": {"length": "kurz", "level": "A2"}})
    assert wrong.status_code == 400 and wrong.headers["content-type"].startswith("application/problem+json")
    assert "level" in wrong.json()["detail"] and "length" in wrong.json()["detail"]
    kept = c.get(f"/api/v1/chats/{tool['id']}", headers=anna).json()
    assert kept["messages"] == [] and kept["version"] == tool["version"]
    # a cloud model is not offered for personal data
    refused = c.post("/api/v1/chats", headers=anna, json={"data_class": "personenbezogen", "model": "cloud-chat"})
    assert refused.status_code == 403


def test_tool_options_are_checked_before_anything_is_saved_and_reach_the_tool(
        app_client, issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, c = app_client
    anna = user(issuer, "anna", "KVR")
    tool = new_chat(c, anna, mode="summarise")
    # a bad value is a 400 problem naming value and choices, and nothing is saved
    wrong = c.post(f"/api/v1/chats/{tool['id']}/messages", headers=anna,
                   json={"content": "Ein Text.", "version": tool["version"], "stream": False,
                         "options": {"length": "episch"}})
    assert wrong.status_code == 400 and wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["detail"].endswith("unknown length 'episch'; allowed: kurz, mittel, lang")
    kept = c.get(f"/api/v1/chats/{tool['id']}", headers=anna).json()
    assert kept["messages"] == [] and kept["version"] == tool["version"]
    # a good one (an alias here) reaches the tool: "short" is "kurz", at most 130 output tokens
    asked: list[Any] = []

    def chat(ctx: Any, messages: list[Any], model: str | None = None, params: Any = None) -> Any:
        asked.append(params)
        metrics = Metrics(prompt_tokens=10, completion_tokens=5, latency_ms=1.0, cost_eur=Decimal(0), energy_wh=0.0,
                          gco2e=0.0, energy_method="measured")
        return SimpleNamespace(text="Zusammenfassung: Das Amt zieht um.\nKernpunkte:\n- Umzug\n- Neue Adresse",
                               finish_reason="stop", metrics=metrics)

    monkeypatch.setattr(rt.gateway, "route", lambda *a, **kw: SimpleNamespace(
        spec=SimpleNamespace(name="fake-chat", context_length=4096, max_output_tokens=512)))
    monkeypatch.setattr(rt.gateway, "chat", chat)
    done = send(c, anna, tool, "Das Bürgeramt zieht im Mai in die Marienstraße um. Die Telefonnummer bleibt.",
                tool["version"], options={"length": "short"})
    meta = done["message"]["meta"]
    assert done["error"] is None and meta["tool"] == "summarise" and meta["extra"]["length"] == "kurz"
    assert asked and asked[0].max_tokens == 130 and done["message"]["content"].startswith("Das Amt zieht um.")


def test_documents_in_chat_are_cited_and_deleted_with_it(app_client, issuer: Issuer) -> None:
    rt, c = app_client
    anna = user(issuer, "anna", "KVR")
    chat = new_chat(c, anna, data_class="vertraulich")
    upload = c.post(f"/api/v1/chats/{chat['id']}/documents", headers=anna, files=[
        ("files", ("vermerk.pdf", pdf_bytes("Vermerk Fuhrpark\nDer neue Elektrobus des Betriebshofs wird am 3. März "
                                      "ausgeliefert.\nDie Schulung der Fahrerinnen beginnt eine Woche später."),
                   "application/pdf")),
        ("files", ("bild.exe", b"MZ", "application/octet-stream")),
    ])
    report = upload.json()
    assert report["counts"]["added"] == 1 and report["counts"]["failed"] == 1
    answer = send(c, anna, chat, "Wann wird der Elektrobus ausgeliefert?", report["version"])["message"]
    citations = answer["meta"]["citations"]
    assert citations and "3. März" in citations[0]["quote"] and citations[0]["verified"]
    bernd = user(issuer, "bernd", "KVR")
    assert c.get("/api/v1/search", params={"q": "Elektrobus"}, headers=bernd).json()["hits"] == []
    deleted = c.delete(f"/api/v1/chats/{chat['id']}", headers=anna).json()
    assert deleted["documents"] == 1 and deleted["chunks"] >= 1 and deleted["messages"] == 2
    with rt.db.engine.connect() as conn:
        for table in ("chats", "chat_messages", "kb_documents", "kb_chunks", "kb_collections", "kb_lexemes"):
            assert conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0, table


def test_own_assistants_share_publish_and_moderate(app_client, issuer: Issuer) -> None:
    _, c = app_client
    anna, berta = user(issuer, "anna", "KVR"), user(issuer, "berta", "KVR")
    olaf = user(issuer, "olaf", "Sozialreferat")
    admin = user(issuer, "root", "IT", ["admin"])
    created = c.post("/api/v1/my-assistants", headers=anna, json={
        "name": "Briefhelfer", "system_prompt": "Du hilfst beim Formulieren freundlicher Antwortschreiben.",
        "starter_prompts": ["Formuliere eine Eingangsbestätigung"], "visibility": "departments",
        "share_departments": ["KVR"]}).json()
    aid = created["id"]
    assert c.get(f"/api/v1/my-assistants/{aid}", headers=berta).status_code == 404  # not published yet
    published = c.post(f"/api/v1/my-assistants/{aid}/publish", headers=anna, json={"version": created["version"]})
    assert published.status_code == 200 and published.json()["published"]
    assert published.json()["screening"]["model_areas"] == []  # writing letters is no Annex III area
    assert c.get(f"/api/v1/my-assistants/{aid}", headers=berta).json()["name"] == "Briefhelfer"
    assert "system_prompt" not in c.get(f"/api/v1/my-assistants/{aid}", headers=berta).json()
    chat = new_chat(c, berta, assistant_id=aid)
    assert chat["title"] == "Briefhelfer"
    assert c.get(f"/api/v1/my-assistants/{aid}", headers=olaf).status_code == 404
    assert c.post("/api/v1/chats", headers=olaf, json={"assistant_id": aid}).status_code == 404
    # a high-risk purpose needs explicit confirmation
    risky = c.post("/api/v1/my-assistants", headers=anna, json={
        "name": "Antragsprüfer", "system_prompt": "Prüfe Anträge auf Wohngeld und entscheide über den Anspruch.",
        "visibility": "link"}).json()
    refused = c.post(f"/api/v1/my-assistants/{risky['id']}/publish", headers=anna, json={})
    assert refused.status_code == 409 and refused.json()["screening"]["high_risk"]
    assert "public_services" in refused.json()["screening"]["rule_hits"]
    assert refused.json()["screening"]["model_areas"] == ["public_services"]
    ok = c.post(f"/api/v1/my-assistants/{risky['id']}/publish", headers=anna, json={"confirm": True}).json()
    assert ok["published"] and ok["confirmed_at"] and ok["screening"]["high_risk"]
    link = ok["link_token"]
    assert c.get(f"/api/v1/my-assistants/{risky['id']}", headers=olaf).status_code == 404
    assert c.get(f"/api/v1/my-assistants/{risky['id']}?link={link}", headers=olaf).status_code == 200
    copy = c.post(f"/api/v1/my-assistants/{risky['id']}/duplicate?link={link}", headers=olaf).json()
    assert copy["name"] == "Antragsprüfer (Kopie)" and copy["own"] and not copy["published"]
    # edits create versions and take the assistant offline until published again
    edited = c.patch(f"/api/v1/my-assistants/{aid}", headers=anna,
                     json={"system_prompt": "Neue Anweisungen.", "version": published.json()["version"]}).json()
    assert edited["version"] == 2 and not edited["published"]
    assert [v["version"] for v in c.get(f"/api/v1/my-assistants/{aid}/versions", headers=anna).json()] == [1, 2]
    # moderation: admins unpublish with a reason the owner sees
    assert c.post(f"/api/v1/my-assistants/{risky['id']}/unpublish", headers=anna, json={"reason": "x"}
                  ).status_code == 403
    c.post(f"/api/v1/my-assistants/{risky['id']}/unpublish", headers=admin, json={"reason": "Bitte Datenschutz prüfen"})
    mine = c.get(f"/api/v1/my-assistants/{risky['id']}", headers=anna).json()
    assert not mine["published"] and mine["unpublished_reason"] == "Bitte Datenschutz prüfen"
    overview = c.get("/api/v1/admin/overview", headers=admin).json()
    assert any(r["key"] == "KVR" for r in overview["by_department"]) and "by_model" in overview
    assert c.get("/api/v1/admin/overview", headers=anna).status_code == 403


def test_retention_job_removes_expired_chats_with_their_files(app_client, issuer: Issuer) -> None:
    from rathaus.maintenance import run_once

    rt, c = app_client
    anna = user(issuer, "anna", "KVR")
    old, fresh = new_chat(c, anna), new_chat(c, anna)
    up = c.post(f"/api/v1/chats/{old['id']}/documents", headers=anna,
                files=[("files", ("notiz.txt", "Die Kantine schließt am Freitag um 14 Uhr.".encode(), "text/plain"))])
    assert up.json()["counts"]["added"] == 1
    with rt.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE chats SET updated_at = now() - interval '91 days' WHERE id = :id"),
                     {"id": old["id"]})
    done = run_once(rt, local_principal(rt.settings))
    assert done["chats_deleted"] == 1
    assert c.get(f"/api/v1/chats/{old['id']}", headers=anna).status_code == 404
    assert c.get(f"/api/v1/chats/{fresh['id']}", headers=anna).status_code == 200
    with rt.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_chunks")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_collections")) == 0


def test_uploads_that_cannot_be_used_are_problems(app_client, issuer: Issuer) -> None:
    rt, c = app_client
    rt.settings.upload_max_mb = 1
    anna = user(issuer, "anna", "KVR")
    chat = new_chat(c, anna)
    big = c.post(f"/api/v1/chats/{chat['id']}/documents", headers=anna,
                 files=[("files", ("gross.txt", b"a" * 1_000_001, "text/plain"))])
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    assert "gross.txt" in big.json()["detail"] and "1 MB" in big.json()["detail"]
    odd = c.post(f"/api/v1/chats/{chat['id']}/documents", headers=anna,
                 files=[("files", ("tabelle.xlsx", b"PK\x03\x04", "application/vnd.ms-excel"))])
    assert odd.status_code == 415 and "tabelle.xlsx" in odd.json()["detail"]
    empty = c.post(f"/api/v1/chats/{chat['id']}/documents", headers=anna)
    assert empty.status_code == 422
    assert c.get(f"/api/v1/chats/{chat['id']}", headers=anna).json()["has_documents"] is False


class BrokenUpstream:
    """An OpenAI-compatible server on loopback that streams three pieces of an answer, then drops the line."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in ("Die ", "Antwort ", "beginnt"):
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "broken",
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.connection.shutdown(2)  # the model server dies mid-answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_model_failing_mid_stream_keeps_the_partial_answer(make_settings, models_file, issuer: Issuer,
                                                          tmp_path) -> None:
    upstream = BrokenUpstream()
    catalogue = tmp_path / "models.yaml"
    catalogue.write_text(models_file.read_text() + f"""
  - name: broken-chat
    kind: chat
    provider: openai
    base_url: http://127.0.0.1:{upstream.port}/v1
    remote_model: broken
    context_length: 2048
    max_output_tokens: 64
    parameters_b: 1
    data_classes: [oeffentlich, intern]
    hosting: eu-cloud
    location: loopback
""")
    rt = Runtime(make_settings(models_file=catalogue, **issuer.settings()))
    try:
        with TestClient(create_app(rt)) as c:
            anna = user(issuer, "anna", "KVR")
            chat = new_chat(c, anna, model="local-chat")
            first = send(c, anna, chat, "Sag Hallo.", chat["version"])
            switched = c.patch(f"/api/v1/chats/{chat['id']}", headers=anna,
                               json={"version": first["version"], "model": "broken-chat"}).json()
            with c.stream("POST", f"/api/v1/chats/{chat['id']}/messages", headers=anna,
                          json={"content": "Und weiter?", "version": switched["version"]}) as resp:
                assert resp.status_code == 200
                events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith("data: ")]
            kinds = [e["type"] for e in events]
            assert kinds[0] == "start" and kinds.count("delta") == 3 and kinds[-1] == "error"
            assert "broken-chat" in events[-1]["detail"]
            saved = c.get(f"/api/v1/chats/{chat['id']}", headers=anna).json()["messages"]
            assert [m["role"] for m in saved] == ["user", "assistant", "user", "assistant"]
            assert saved[1]["content"] == first["message"]["content"]  # the earlier answer is untouched
            assert saved[3]["status"] == "error" and saved[3]["content"] == "Die Antwort beginnt"
    finally:
        rt.close()
        upstream.close()
