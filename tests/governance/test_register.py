"""The AI system register against the real embedded PostgreSQL: facts from every capability, sample entries,
completeness, change history, the Dutch-standard and Annex VIII exports (validated), bad input, role checks over
HTTP, the public page and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cli_runner import cli_runner, one_line_error
from rathaus.app import create_app
from rathaus.core import auth
from rathaus.core.errors import BadRequest, NotFound
from rathaus.core.schema import UsageEvent
from rathaus.core.settings import Settings
from rathaus.governance.register import (
    InvalidEntry,
    annex_viii,
    build_cards,
    dutch_standard,
    get_card,
    known_ids,
    load_samples,
    parse_yaml,
    render_html,
    store,
)
from rathaus.governance.register.completeness import REQUIRED
from rathaus.governance.register.publish import page_css
from rathaus.governance.schema import BiasEvalRun
from rathaus.runtime import Runtime

ADDRESS = "Marienplatz 8, 80331 München"
FULL = {
    "public": True, "purpose": {"de": "Zweck.", "en": "Purpose."}, "owner_department": "IT-Referat",
    "responsible_role": "Leitung", "affected_people": {"de": "Beschäftigte."}, "human_oversight": {"de": "Prüfung."},
    "known_limits": {"de": "Grenzen."}, "legal_basis": "§ 1", "contact": "ki@stadt.example",
    "staff_council_approval": "2026-01-02",
}


@pytest.fixture
def rt(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    runtime = Runtime(make_settings())
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def rt_addressed(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    runtime = Runtime(make_settings(governance_organisation_address=ADDRESS))
    try:
        yield runtime
    finally:
        runtime.close()


def cards_by_id(runtime: Runtime, **kw: Any) -> dict[str, Any]:
    with runtime.db.session() as s:
        return {c.id: c for c in build_cards(runtime, s, **kw)}


def count(runtime: Runtime, table: str) -> int:
    with runtime.db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


# --- facts through the capability registry -----------------------------------------------------------------------
def test_every_capability_describes_its_systems(rt: Runtime) -> None:
    with rt.db.session() as s:
        ids = known_ids(rt, s)
    for expected in ("assistant:buergerservice", "assistant:auslaenderbehoerde", "writing-tools", "inbox", "checks",
                     "traffic", "library", "model:local-chat", "model:local-embed"):
        assert expected in ids
    cards = cards_by_id(rt, figures_too=False)
    high = cards["assistant:auslaenderbehoerde"].facts
    assert high.high_risk and high.annex_iii == "migration, asylum and border control management"
    assert high.annex_iii_confirmed is True and high.department == "Kreisverwaltungsreferat"
    chat = next(m for m in cards["assistant:buergerservice"].facts.models if m.kind == "chat")
    assert chat.name == "local-chat" and chat.sha256 and chat.sha256.startswith("cc324af0")
    assert chat.hosting == "on-premises" and chat.location == "test machine"
    assert not cards["assistant:buergerservice"].facts.high_risk
    assert cards["model:local-chat"].facts.public is False  # a model is never on the public page by itself


# --- samples, completeness ----------------------------------------------------------------------------------------
def test_samples_fill_the_register_and_gaps_are_listed(rt: Runtime) -> None:
    stored = load_samples(rt)
    assert {r["id"] for r in stored} >= {"assistant:buergerservice", "writing-tools", "inbox", "traffic"}
    assert load_samples(rt) == []  # a second start keeps what is there
    cards = cards_by_id(rt, figures_too=False)
    assert cards["assistant:buergerservice"].complete and cards["assistant:buergerservice"].public
    assert cards["model:local-embed"].missing[: len(REQUIRED)] == list(REQUIRED)  # nobody entered anything
    assert not cards["model:local-embed"].public
    # the high-risk sample lacks only what this installation must configure
    assert cards["assistant:auslaenderbehoerde"].missing == [
        "organisation_address (RATHAUS_GOVERNANCE_ORGANISATION_ADDRESS)"]
    # checks is in development: the staff council's approval is not yet required
    assert cards["checks"].complete


def test_high_risk_card_is_complete_with_the_address_and_annex_viii_is_filled(rt_addressed: Runtime) -> None:
    load_samples(rt_addressed)
    with rt_addressed.db.session() as s:
        cards = build_cards(rt_addressed, s, figures_too=False)
    data = annex_viii.export(cards, "Stadt Beispiel", ADDRESS)
    assert [e["id"] for e in data["entries"]] == ["assistant:auslaenderbehoerde"] and data["incomplete"] == []
    a = data["entries"][0]["section_a"]
    assert a["1_provider_name_address_contact"] == {"name": "Stadt Beispiel", "address": ADDRESS,
                                                     "contact": "ki-register@stadt.example"}
    assert a["7_status"] == "in service" and a["12_instructions_for_use_url"].startswith("https://")
    assert data["entries"][0]["section_c"]["4_fundamental_rights_impact_assessment_summary"].startswith("Grundrechte")


def test_annex_viii_lists_an_incomplete_high_risk_system_instead_of_exporting_it(rt: Runtime) -> None:
    load_samples(rt)
    with rt.db.session() as s:
        data = annex_viii.export(build_cards(rt, s, figures_too=False), "Stadt", "")
    assert data["entries"] == []
    assert data["incomplete"] == [{"id": "assistant:auslaenderbehoerde", "missing": [
        "organisation_address (RATHAUS_GOVERNANCE_ORGANISATION_ADDRESS)"]}]


# --- the Dutch algorithm register standard -----------------------------------------------------------------------
def test_dutch_export_is_valid_against_the_schema_and_skips_incomplete_cards(rt: Runtime) -> None:
    load_samples(rt)
    with rt.db.session() as s:
        cards = build_cards(rt, s, figures_too=False, only_public=True)
    data = dutch_standard.export(cards, "Stadt Beispiel")
    ids = [a["source_id"] for a in data["algorithms"]]
    assert "assistant:buergerservice" in ids and "inbox" in ids and "checks" in ids
    assert "model:local-chat" not in ids  # never public
    assert "library" in ids and "assistant:wirtschaft" in ids
    assert {i["id"] for i in data["incomplete"]} == {"assistant:auslaenderbehoerde"}
    validator = jsonschema.Draft202012Validator(dutch_standard.schema())
    for rec in data["algorithms"]:
        validator.validate(rec)
    bs = next(a for a in data["algorithms"] if a["source_id"] == "assistant:buergerservice")
    assert bs["status"] == "In gebruik" and bs["publication_category"] == "Overige algoritmes"
    assert bs["organization"] == "Stadt Beispiel" and "cc324af0" in bs["methods_and_models"]
    inbox = next(a for a in data["algorithms"] if a["source_id"] == "inbox")
    assert inbox["publication_category"] == "Impactvolle algoritmes"
    # the validator can fail: a record without a name and with an unknown status is refused
    broken = {**bs, "status": "läuft"}
    del broken["name"]
    problems = dutch_standard.validate(broken)
    assert any("'name' is a required property" in p for p in problems)
    assert any(p.startswith("status:") for p in problems)


# --- history, bad input -----------------------------------------------------------------------------------------
def test_every_change_is_kept_with_who_when_and_what(rt: Runtime) -> None:
    with rt.db.session() as s:
        ids = known_ids(rt, s)
        first = store.set_entry(s, parse_yaml(json.dumps({"id": "library", **FULL}))[0], known_ids=ids,
                                actor="olga", source="yaml")
        again = store.set_entry(s, parse_yaml(json.dumps({"id": "library", **FULL}))[0], known_ids=ids,
                                actor="olga", source="yaml")
        changed = store.set_entry(s, parse_yaml(json.dumps({"id": "library", **FULL, "public": False,
                                                            "legal_basis": "§ 2"}))[0],
                                  known_ids=ids, actor="otto", source="form")
    assert first["version"] == 1 and again == {"id": "library", "version": 1, "changed": []}
    assert changed == {"id": "library", "version": 2, "changed": ["legal_basis", "public"]}
    with rt.db.session() as s:
        hist = store.history(s, "library")
        with pytest.raises(BadRequest, match="changed meanwhile"):
            store.set_entry(s, parse_yaml(json.dumps({"id": "library", **FULL}))[0], known_ids=ids, actor="x",
                            source="api", expected_version=1)
    assert [(h["version"], h["changed_by"], h["source"]) for h in hist] == [(2, "otto", "form"), (1, "olga", "yaml")]
    assert hist[0]["changes"] == {"legal_basis": ["§ 1", "§ 2"], "public": [True, False]}
    assert hist[1]["changes"]["purpose"] == [None, {"de": "Zweck.", "en": "Purpose."}]
    assert cards_by_id(rt, figures_too=False)["library"].public is False


def test_bad_input_is_one_readable_line_and_stores_nothing(rt: Runtime) -> None:
    with pytest.raises(BadRequest, match=r"x.yaml line 2, column \d+: not valid YAML"):
        parse_yaml("id: inbox\n\tpurpose: x\n", "x.yaml")
    with pytest.raises(InvalidEntry, match=r"x.yaml: colour: Extra inputs are not permitted"):
        parse_yaml("id: inbox\ncolour: red\n", "x.yaml")
    with pytest.raises(InvalidEntry, match=r"contact: Value error, an e-mail address or an https:// URL"):
        parse_yaml("id: inbox\ncontact: call us\n")
    with pytest.raises(InvalidEntry, match=r"staff_council_approval"):
        parse_yaml("id: inbox\nstaff_council_approval: someday\n")
    with pytest.raises(InvalidEntry, match="NUL"):
        parse_yaml('id: inbox\nlegal_basis: "a\\0b"\n')
    with pytest.raises(InvalidEntry, match=r"categories\.0: Input should be 'Organisatie en bedrijfsvoering'"):
        parse_yaml("id: inbox\ncategories: [Fußball]\n")
    with pytest.raises(BadRequest, match="expected a mapping"):
        parse_yaml("- just a string\n")
    with rt.db.session() as s, pytest.raises(NotFound, match="no AI system 'assistant:nope'"):
        store.set_entry(s, parse_yaml("id: assistant:nope\n")[0], known_ids=known_ids(rt, s), actor="x",
                        source="yaml")
    with rt.db.session() as s, pytest.raises(NotFound):
        store.history(s, "inbox")
    assert count(rt, "register_entries") == 0 and count(rt, "register_entry_changes") == 0


# --- what governance adds: usage, bias runs, benchmarks ---------------------------------------------------------
def test_card_figures_come_from_metering_bias_runs_and_bench_results(make_settings: Callable[..., Settings],
                                                                      tmp_path: Path) -> None:
    (tmp_path / "retrieval.json").write_text(json.dumps({"hybrid_mrr10": 0.67, "chunks": 523, "note": "x"}))
    runtime = Runtime(make_settings(governance_bench_results=tmp_path))
    try:
        now = dt.datetime.now(dt.UTC)
        with runtime.db.session() as s:
            for ts, use_case in ((now, "assistant:buergerservice"), (now - dt.timedelta(days=1),
                                 "assistant:buergerservice"), (now - dt.timedelta(days=60),
                                 "assistant:buergerservice"), (now, "inbox")):
                s.add(UsageEvent(ts=ts, request_id="r", department="KVR", principal="p", principal_kind="user",
                                 use_case=use_case, model="local-chat", provider="embedded", operation="chat",
                                 data_class="intern", status="ok", prompt_tokens=10, completion_tokens=5,
                                 cost_eur=0.5, energy_wh=1.5, gco2e=0.25))
            s.add(BiasEvalRun(created_by="t", benchmark="GG-BBQ", subject_kind="assistant", subject="buergerservice",
                              model="local-chat", model_version="v1", prompt_version="p1", n_items=40,
                              acc_ambig=0.5, bias_ambig=0.1, unparsable_rate=0.0, seconds=1.0))
        with runtime.db.session() as s:
            card = get_card(runtime, s, "assistant:buergerservice")
            model = get_card(runtime, s, "model:local-chat")
        assert card.usage["last_30_days"] == {"calls": 2, "tokens": 30, "cost_eur": 1.0, "energy_wh": 3.0,
                                              "gco2e": 0.5}
        assert model.usage["last_30_days"]["calls"] == 3  # every call the model served, all use cases
        assert card.bias is not None and card.bias["runs"] == 1 and card.bias["newest"]["bias_ambig"] == 0.1
        assert card.bench == [{"file": "bench/results/retrieval.json", "figures": {"hybrid_mrr10": 0.67}}]
    finally:
        runtime.close()


# --- HTTP: roles, problems, the public page -----------------------------------------------------------------------
def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def keys(runtime: Runtime) -> dict[str, str]:
    with runtime.db.session() as s:
        return {role: auth.create_api_key(s, f"k-{role}", "IT", [role] if role != "none" else [])
                for role in ("oversight", "auditor", "none")}


def assert_problem(resp: Any, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert text in resp.json()["detail"], resp.json()


def test_api_enforces_roles_and_answers_bad_input_with_problems(rt: Runtime) -> None:
    k = keys(rt)
    with TestClient(create_app(rt)) as c:
        assert_problem(c.put("/api/v1/register/inbox", json=FULL, headers=bearer(k["none"])), 403, "oversight")
        assert_problem(c.get("/api/v1/register", headers=bearer(k["none"])), 403, "roles")
        assert_problem(c.put("/api/v1/register/inbox", json=FULL, headers=bearer(k["auditor"])), 403, "oversight")
        assert count(rt, "register_entries") == 0
        resp = c.put("/api/v1/register/inbox", json=FULL, headers=bearer(k["oversight"]))
        assert resp.status_code == 200 and resp.json() == {"id": "inbox", "version": 1, "changed": sorted(
            set(FULL) | {"status", "impactful", "categories", "provider", "proportionality", "fria_summary",
                         "dpia_summary", "instructions_url", "eu_database_url"})}  # begin_date: None before and after
        hist = c.get("/api/v1/register/inbox/history", headers=bearer(k["auditor"])).json()
        assert hist[0]["changed_by"] == "service:k-oversight" and hist[0]["source"] == "api"
        assert_problem(c.put("/api/v1/register/assistant:nope", json=FULL, headers=bearer(k["oversight"])), 404,
                       "no AI system")
        assert_problem(c.put("/api/v1/register/inbox", json={**FULL, "contact": "phone"},
                             headers=bearer(k["oversight"])), 422, "contact")
        assert_problem(c.put("/api/v1/register/inbox", json={**FULL, "id": "traffic"},
                             headers=bearer(k["oversight"])), 400, "is not 'inbox'")
        assert_problem(c.put("/api/v1/register/inbox?version=7", json=FULL, headers=bearer(k["oversight"])), 400,
                       "changed meanwhile")
        assert_problem(c.get("/api/v1/register/nope", headers=bearer(k["auditor"])), 404, "no AI system")
        assert count(rt, "register_entry_changes") == 1
        card = c.get("/api/v1/register/inbox?audit_log=true", headers=bearer(k["auditor"])).json()
        assert card["public"] and card["complete"] and card["audit_log"]["ok"] is True
        exported = c.get("/api/v1/register/export/json", headers=bearer(k["auditor"])).json()
        assert [a["source_id"] for a in exported["algorithms"]] == ["inbox"]
        public = c.get("/api/v1/register/public").json()
        assert [p["id"] for p in public] == ["inbox"]


def test_public_page_shows_only_public_complete_cards(rt: Runtime) -> None:
    load_samples(rt)
    with rt.db.session() as s:
        store.set_entry(s, parse_yaml(json.dumps({"id": "library", **FULL, "public": False,
                                                  "purpose": {"de": "Geheimer Zweck der Bibliothek."}}))[0],
                        known_ids=known_ids(rt, s), actor="x", source="yaml")
    with TestClient(create_app(rt)) as c:
        html = c.get("/register").text
        css = c.get("/register.css")
    assert '<link rel="stylesheet" href="/register.css">' in html
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.text == page_css() and "{" in css.text  # the one style sheet, also inlined by the export
    assert "Beantwortet Fragen von Bürgerinnen und Bürgern" in html  # buergerservice, public
    assert "Geheimer Zweck" not in html and "Kleines Sprachmodell" not in html  # not public / a model
    assert 'id="incomplete"' in html and "Ausländerbehörde" in html.split('id="incomplete"')[1]
    with rt.db.session() as s:
        standalone = render_html(build_cards(rt, s, only_public=True), "Stadt")
    assert "<style>" in standalone and "Beantwortet Fragen" in standalone


# --- CLI -----------------------------------------------------------------------------------------------------------
def test_cli_set_history_export_and_bad_files(rt: Runtime, tmp_path: Path) -> None:
    run = cli_runner(rt.settings, tmp_path, "register")
    good = tmp_path / "entry.yaml"
    good.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in FULL.items()))
    result = run("set", "traffic", "--file", str(good))
    assert result.returncode == 0, result.stderr
    assert "Version 1" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("purpose: [oops\n")
    one_line_error(run("set", "traffic", "--file", str(bad)), "bad.yaml line")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("owner: me\n")
    one_line_error(run("set", "traffic", "--file", str(wrong)), "owner: Extra inputs are not permitted")
    one_line_error(run("set", "nope", "--file", str(good)), "no AI system 'nope'")
    one_line_error(run("history", "inbox"), "no register entry for 'inbox'")
    history = json.loads(run("history", "traffic").stdout)
    assert [h["version"] for h in history] == [1] and history[0]["changed_by"] == "cli"
    out = tmp_path / "register.json"
    result = run("export", "--format", "json", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert [a["source_id"] for a in json.loads(out.read_text())["algorithms"]] == ["traffic"]
    listed = json.loads(run("list", "--json").stdout)
    assert {x["id"]: x["complete"] for x in listed}["traffic"] is True
    one_line_error(run("export", "--format", "pdf"), "pdf")
    html = run("export", "--format", "html")
    assert html.returncode == 0 and 'data-system="traffic"' in html.stdout and "<style>" in html.stdout
    annex = run("export", "--format", "annex8")
    assert annex.returncode == 0, annex.stderr
    assert json.loads(annex.stdout)["incomplete"][0]["id"] == "assistant:auslaenderbehoerde"
    assert "unvollständig / incomplete: assistant:auslaenderbehoerde" in annex.stderr
    shown = json.loads(run("show", "traffic").stdout)
    assert shown["entry"]["legal_basis"] == "§ 1" and shown["audit_log"]["ok"] is True
