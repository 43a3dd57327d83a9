"""The safeguards in the gateway, with the real shipped guard and PII models, the real embedded model, a real
llama.cpp server standing in for a cloud model, and the real audit log in PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from oidc import Issuer
from rathaus.app import create_app
from rathaus.core.auth import local_principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import ContentRefused, PersonalDataBlocked
from rathaus.models.gateway import CallContext
from rathaus.models.safeguards import REFUSAL, RequestSafety
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta
from rathaus.runtime import Runtime
from rathaus.safety.policy import SafetyPolicy

PERSONAL = ("Bitte antworte kurz. Frau Anna Schmidt, wohnhaft Leopoldstraße 12, 80802 München, "
            "IBAN DE89 3704 0044 0532 0130 00, hat einen Antrag gestellt.")
OFFENSIVE = "Ihr seid alle dumme Idioten und Vollpfosten, verpisst euch aus unserer Stadt!"


@pytest.fixture
def rt(make_settings) -> Iterator[Runtime]:
    runtime = Runtime(make_settings(audit_store_raw=True))
    yield runtime
    runtime.close()


def ctx(runtime: Runtime, policy: SafetyPolicy | None = None, data_class: DataClass = DataClass.INTERN) -> CallContext:
    return CallContext(principal=local_principal(runtime.settings), data_class=data_class, use_case="test:safety",
                       policy=policy)


def last_audit(runtime: Runtime) -> dict[str, Any]:
    with runtime.db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT action, safeguards, details FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    return {"action": row.action, "safeguards": row.safeguards, "details": row.details}


# --- pure logic with the real shipped guard and PII models ---------------------------------------------------
def test_request_safety_pseudonymises_for_a_model_not_cleared_and_restores() -> None:
    safety = RequestSafety(SafetyPolicy(), cleared_for_personal_data=False)
    sent = safety.inbound([ChatMessage("system", "Du hilfst."), ChatMessage("user", PERSONAL)])
    text = sent[1].content
    assert "Anna Schmidt" not in text and "DE89" not in text and "[PERSON_1]" in text
    assert safety.report["personal_data_action"] == "pseudonymised"
    assert safety.report["personal_data_found"].get("PERSON") == 1
    assert "Anna" not in json.dumps(safety.report)  # counts only, never values
    assert safety.outbound("Der Antrag von [PERSON_1] ist da.") == "Der Antrag von Anna Schmidt ist da."
    # a placeholder split across streamed chunks is put back whole
    stream = RequestSafety(SafetyPolicy(content_guard="log"), cleared_for_personal_data=False)
    stream.inbound([ChatMessage("user", PERSONAL)])
    f = stream.stream()
    out = "".join(f.feed(c) for c in ["Antrag von [PER", "SON_", "1] liegt vor."]) + f.finish()[0]
    assert out == "Antrag von Anna Schmidt liegt vor."


def test_models_cleared_for_personal_data_get_the_text_unchanged() -> None:
    safety = RequestSafety(SafetyPolicy(personal_data="block"), cleared_for_personal_data=True)
    messages = [ChatMessage("user", PERSONAL)]
    assert safety.inbound(messages) == messages and safety.report["personal_data_action"] == "model cleared"


def test_block_and_allow_policies_for_personal_data() -> None:
    with pytest.raises(PersonalDataBlocked) as info:
        RequestSafety(SafetyPolicy(personal_data="block"), False).inbound([ChatMessage("user", PERSONAL)])
    assert info.value.status == 403 and info.value.extra["found"]["PERSON"] == 1
    assert "Anna" not in info.value.detail
    allowed = RequestSafety(SafetyPolicy(personal_data="allow"), False)
    assert allowed.inbound([ChatMessage("user", PERSONAL)])[0].content == PERSONAL


def test_content_guard_modes_on_input() -> None:
    with pytest.raises(ContentRefused) as info:
        RequestSafety(SafetyPolicy(content_guard="block"), True).inbound([ChatMessage("user", OFFENSIVE)])
    assert info.value.status == 422
    warn = RequestSafety(SafetyPolicy(content_guard="warn"), True)
    warn.inbound([ChatMessage("user", OFFENSIVE)])
    assert warn.warnings == ["content-guard:input"] and warn.report["guard_input"]["label"] == "offensive"
    log = RequestSafety(SafetyPolicy(content_guard="log"), True)
    log.inbound([ChatMessage("user", OFFENSIVE)])
    assert log.warnings == [] and log.report["guard_input"]["label"] == "offensive"
    fine = RequestSafety(SafetyPolicy(content_guard="block"), True)
    fine.inbound([ChatMessage("user", "Wann hat das Bürgerbüro am Montag geöffnet?")])
    assert fine.report["guard_input"]["label"] == "ok"


def test_block_mode_releases_checked_sentences_and_withholds_the_rest() -> None:
    safety = RequestSafety(SafetyPolicy(content_guard="block"), True)
    f = safety.stream()
    shown = [f.feed(c) for c in ["Das Bürgerbüro ist montags ", "geöffnet. ", "Ihr seid alle dumme ",
                                 "Idioten und Vollpfosten, verpisst euch!", " Noch mehr Text."]]
    rest, final = f.finish()
    released = "".join(shown) + rest
    assert released == "Das Bürgerbüro ist montags geöffnet. "  # the first sentence, checked, nothing after
    assert f.stopped and safety.replaced and final == REFUSAL
    # warn mode: the text flows on at once, the verdict is recorded
    warn = RequestSafety(SafetyPolicy(content_guard="warn"), True)
    g = warn.stream()
    assert g.feed(OFFENSIVE) == OFFENSIVE and g.finish() == ("", OFFENSIVE)
    assert warn.warnings == ["content-guard:output"] and not warn.replaced


def test_policy_values_are_validated() -> None:
    with pytest.raises(ValueError):
        SafetyPolicy(personal_data="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SafetyPolicy(guard_threshold=1.5)


# --- through the gateway --------------------------------------------------------------------------------------
@pytest.mark.model
def test_cloud_model_sees_placeholders_and_the_audit_only_counts(rt: Runtime, cloud_server: str) -> None:
    out = rt.gateway.chat(ctx(rt), [ChatMessage("user", PERSONAL)], model="cloud-chat",
                          params=ChatParams(max_tokens=12, temperature=0))
    record = last_audit(rt)
    sent = json.dumps(record["details"]["input"], ensure_ascii=False)
    assert "Anna Schmidt" not in sent and "DE89" not in sent and "[PERSON_1]" in sent
    assert record["safeguards"]["personal_data_action"] == "pseudonymised"
    assert record["safeguards"]["personal_data_found"]["PERSON"] == 1
    assert "[PERSON_" not in out.text  # whatever the model wrote, placeholders are restored for the user
    assert out.safety["personal_data_action"] == "pseudonymised"


@pytest.mark.model
def test_blocked_personal_data_and_offensive_input_are_refused_and_audited(rt: Runtime, cloud_server: str) -> None:
    with pytest.raises(PersonalDataBlocked):
        rt.gateway.chat(ctx(rt, SafetyPolicy(personal_data="block")), [ChatMessage("user", PERSONAL)],
                        model="cloud-chat")
    record = last_audit(rt)
    assert record["action"] == "model.refused" and record["safeguards"]["reason"] == "personal-data-blocked"
    assert record["safeguards"]["data_class_route"] == "allowed"
    assert "Anna" not in json.dumps(record, ensure_ascii=False)
    with pytest.raises(ContentRefused):
        rt.gateway.chat(ctx(rt, SafetyPolicy(content_guard="block")), [ChatMessage("user", OFFENSIVE)])
    record = last_audit(rt)
    assert record["safeguards"]["reason"] == "content-refused"
    assert record["safeguards"]["guard_input"]["label"] == "offensive"


@pytest.mark.model
def test_embedded_model_in_warn_mode_streams_and_reports(rt: Runtime) -> None:
    prepared = rt.gateway.chat_stream(ctx(rt), [ChatMessage("user", OFFENSIVE + " Antworte mit einem Wort.")],
                                      params=ChatParams(max_tokens=8, temperature=0))
    events = list(prepared.events())
    outcome = events[-1]
    assert all(isinstance(e, StreamDelta) for e in events[:-1])
    assert "content-guard:input" in outcome.warnings and outcome.safety["personal_data_action"] == "model cleared"
    assert last_audit(rt)["safeguards"]["guard_input"]["label"] == "offensive"


# --- HTTP ---------------------------------------------------------------------------------------------------
@pytest.mark.model
def test_openai_api_answers_refusals_as_problems(make_settings, issuer: Issuer) -> None:
    runtime = Runtime(make_settings(**issuer.settings(), safety_content_guard="block"))
    try:
        with TestClient(create_app(runtime)) as c:
            headers = {"Authorization": "Bearer " + issuer.token(sub="anna", department="KVR")}
            resp = c.post("/v1/chat/completions", headers=headers,
                          json={"messages": [{"role": "user", "content": OFFENSIVE}], "max_tokens": 8})
            assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["type"].endswith("/content-refused")
            ok = c.post("/v1/chat/completions", headers=headers,
                        json={"messages": [{"role": "user", "content": "Sag Hallo."}], "max_tokens": 8,
                              "temperature": 0})
            assert ok.status_code == 200 and ok.json()["rathaus"]["safety"]["guard_input"]["label"] == "ok"
            assert ok.json()["rathaus"]["withheld"] is False
    finally:
        runtime.close()


@pytest.mark.model
def test_own_assistant_policy_is_stored_validated_and_applied(make_settings, issuer: Issuer, cloud_server: str) -> None:
    runtime = Runtime(make_settings(**issuer.settings()))
    try:
        with TestClient(create_app(runtime)) as c:
            anna = {"Authorization": "Bearer " + issuer.token(sub="anna", department="KVR")}
            bad = c.post("/api/v1/my-assistants", headers=anna, json={
                "name": "Briefhilfe", "system_prompt": "Du hilfst bei Briefen.",
                "safeguards": {"personal_data": "sometimes"}})
            assert bad.status_code == 422  # the body model names the field
            made = c.post("/api/v1/my-assistants", headers=anna, json={
                "name": "Briefhilfe", "system_prompt": "Du hilfst bei Briefen.", "model": "cloud-chat",
                "safeguards": {"personal_data": "block", "content_guard": "log"}})
            assert made.status_code == 201, made.text
            assistant = made.json()
            assert assistant["safeguards"] == {"personal_data": "block", "content_guard": "log",
                                               "guard_threshold": None}
            chat = c.post("/api/v1/chats", headers=anna, json={"assistant_id": assistant["id"],
                                                               "data_class": "intern", "model": "cloud-chat"}).json()
            resp = c.post(f"/api/v1/chats/{chat['id']}/messages", headers=anna,
                          json={"content": PERSONAL, "version": chat["version"], "stream": False})
            assert resp.status_code == 403 and resp.json()["type"].endswith("/personal-data-blocked")
            kept = c.get(f"/api/v1/chats/{chat['id']}", headers=anna).json()
            assert all("Anna" not in json.dumps(m.get("meta") or {}) for m in kept["messages"])
    finally:
        runtime.close()
