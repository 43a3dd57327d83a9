"""Oversight reports against the real embedded PostgreSQL: inserted usage rows, asserted sums, suppression below
the minimum group size, refusals, CSV columns, bad input over the API and the CLI, an empty month."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rathaus.core import audit, budgets
from rathaus.core.auth import create_api_key
from rathaus.core.errors import BadRequest, NotFound
from rathaus.core.schema import UsageEvent
from rathaus.core.settings import Settings
from rathaus.governance.reports import CSV_COLUMNS, GroupTooSmall, build_report, render_csv, render_html
from rathaus.governance.schema import BiasEvalRun
from rathaus.runtime import Runtime

MONTH = "2026-11"


def usage(ts: str, department: str, principal: str, use_case: str, model: str, *, status: str = "ok",
          prompt: int = 0, completion: int = 0, cost: float = 0.0, wh: float = 0.0, g: float = 0.0) -> dict[str, Any]:
    return {"ts": ts, "request_id": uuid.uuid4().hex, "department": department, "principal": principal,
            "principal_kind": "user", "use_case": use_case, "model": model, "provider": "x", "operation": "chat",
            "data_class": "intern", "status": status, "prompt_tokens": prompt, "completion_tokens": completion,
            "latency_ms": 10.0, "cost_eur": cost, "energy_wh": wh, "gco2e": g}


def fill(runtime: Runtime) -> None:
    """KVR: 6 people × 2 chat calls (0.5 Wh, 0.18 g, 0.001 €) + 1 refusal; RKU: 2 people × 1 assistant call on the
    cloud model (2 Wh, 0.726 g, 0.01 €); one October call (1 Wh) and one December call (outside the month)."""
    rows = [usage("2026-11-10T12:00:00+01:00", "KVR", f"k{i}", "chat", "local-chat", prompt=100, completion=50,
                  cost=0.001, wh=0.5, g=0.18) for i in range(6) for _ in range(2)]
    rows.append(usage("2026-11-11T09:00:00+01:00", "KVR", "k0", "chat", "auto", status="refused"))
    rows += [usage("2026-11-12T09:00:00+01:00", "RKU", f"r{i}", "assistant:buergerservice", "cloud-chat",
                   prompt=200, completion=100, cost=0.01, wh=2.0, g=0.726) for i in range(2)]
    rows.append(usage("2026-10-31T23:30:00+01:00", "KVR", "k0", "chat", "local-chat", wh=1.0, g=0.363))
    rows.append(usage("2026-12-01T00:30:00+01:00", "KVR", "k0", "chat", "local-chat", wh=9.0, g=3.0))
    with runtime.db.session() as session:
        session.execute(sa.insert(UsageEvent), rows)


def report(runtime: Runtime, kind: str, month: str = MONTH, **kw: Any) -> Any:
    with runtime.db.session() as session:
        return build_report(session, runtime.settings, runtime.catalog, kind, month, **kw)


def row(table: Any, *keys: str) -> list[Any]:
    return next(r for r in table.rows if tuple(r[:len(keys)]) == keys)


def test_climate_sums_methods_uncertainty_and_suppression(runtime: Runtime) -> None:
    fill(runtime)
    r = report(runtime, "climate")
    assert r.summary["requests"] == 15
    assert r.summary["energy_wh"] == pytest.approx(10.0) and r.summary["gco2e"] == pytest.approx(3.612)
    assert r.summary["wh_per_request"] == pytest.approx(10.0 / 15)
    # measured ×0.5–×2 on 6 Wh, estimated ×0.33–×3 on 4 Wh
    assert r.summary["energy_wh_low"] == pytest.approx(3.0 + 1.32)
    assert r.summary["energy_wh_high"] == pytest.approx(12.0 + 12.0)
    dept = r.table("department")
    assert row(dept, "KVR") == ["KVR", 6, 13, 6.0, 2.16, pytest.approx(6 / 13), pytest.approx(2.16 / 13)]
    assert row(dept, "RKU") == ["RKU"] + [None] * 6  # 2 people < 5: suppressed
    model = r.table("model")
    assert row(model, "local-chat")[1:4] == ["on-premises", "test machine", "measured"]
    assert row(model, "cloud-chat")[1:4] == ["eu-cloud", "test cloud (loopback)", "estimated"]
    assert row(model, "auto")[3] == "unknown"
    assert row(r.table("location"), "on-premises")[2:4] == [12, 6.0]
    assert row(r.table("use_case"), "assistant:buergerservice")[1:3] == [2, 4.0]  # no people: not suppressed
    trend = {t[0]: t for t in r.table("trend").rows}
    assert list(trend) == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert trend["2026-10"][1:3] == [1, 1.0] and trend["2026-11"][1:3] == [15, 10.0]
    scenarios = r.table("scenarios").rows
    # 43,000 × 5 × 220 requests a year at 10/15 Wh each
    assert scenarios[0][1] == pytest.approx(43000 * 5 * 220 * (10 / 15) / 1000, rel=1e-3)
    assert any("cloud-chat" in s[0] for s in scenarios) and any("local-chat" in s[0] for s in scenarios)
    page = render_html(r)
    assert "<svg" in page and "<script" not in page and "ecologits" in page.lower() and "unterdrückt" in page


def test_costs_against_the_benefit_ledger(runtime: Runtime) -> None:
    fill(runtime)
    r = report(runtime, "costs")
    uc = r.table("use_case")
    chat = dict(zip(uc.columns, row(uc, "chat"), strict=True))
    assert chat["requests"] == 13 and chat["successful"] == 12 and chat["minutes_saved_per_call"] == 1.5
    assert chat["token_cost_eur"] == pytest.approx(0.012) and chat["infrastructure_eur"] == pytest.approx(26.0)
    assert chat["hours_saved"] == pytest.approx(0.3) and chat["benefit_eur"] == pytest.approx(18.0)
    assert chat["net_eur"] == pytest.approx(18.0 - 26.012, abs=0.01)
    assistant = dict(zip(uc.columns, row(uc, "assistant:buergerservice"), strict=True))
    assert assistant["benefit_eur"] == pytest.approx(6.0) and assistant["infrastructure_eur"] == pytest.approx(4.0)
    assert r.summary["benefit_eur"] == pytest.approx(24.0) and r.summary["cost_eur"] == pytest.approx(30.032)
    assert r.summary["net_eur"] == pytest.approx(-6.03, abs=0.01)
    names = {a.name for a in r.assumptions}
    assert {"hourly_rate_eur", "infrastructure_eur_per_month", "minutes_saved[chat]"} <= names
    assert all(a.source for a in r.assumptions)
    assert row(r.table("department"), "RKU")[1:] == [None, None, None]


def test_staff_report_suppresses_and_refuses(runtime: Runtime) -> None:
    fill(runtime)
    r = report(runtime, "staff")
    assert row(r.table("department"), "KVR") == ["KVR", 6, 13, 1800]
    assert row(r.table("department"), "RKU") == ["RKU", None, None, None]
    assert row(r.table("use_case"), "assistant:buergerservice")[1:] == [None, None, None]
    assert r.summary == {"min_group_size": 5, "departments_shown": 1, "departments_suppressed": 1,
                         "requests_shown": 13}
    keep = {x[0]: x[4] for x in r.table("retention").rows}
    assert keep["audit_log"] == "365 Tage / days" and keep["usage_events"].startswith("unbefristet")
    with pytest.raises(GroupTooSmall, match="no per-person view"):
        report(runtime, "staff", by="principal")
    with pytest.raises(GroupTooSmall, match="fewer than the minimum group size 5"):
        report(runtime, "staff", department="RKU")
    assert report(runtime, "staff", department="KVR").table("department").rows == [["KVR", 6, 13, 1800]]


def test_staff_report_lists_the_staff_councils_approval_per_use_case(runtime: Runtime) -> None:
    from rathaus.governance.register.entry import RegisterEntry
    from rathaus.governance.register.store import set_entry

    known = ["inbox", "writing-tools"]
    with runtime.db.session() as session:
        approved = RegisterEntry(id="inbox", owner_department="Direktorium", staff_council_approval="2026-10-01")
        set_entry(session, approved, known_ids=known, actor="t", source="api")
        set_entry(session, RegisterEntry(id="writing-tools", owner_department="IT-Referat"), known_ids=known,
                  actor="t", source="api")
    rows = report(runtime, "staff").table("codetermination").rows
    assert rows == [["inbox", "Direktorium", "in-use", "2026-10-01"],
                    ["writing-tools", "IT-Referat", "in-use", "offen / open"]]


def test_minimum_group_size_is_a_setting(make_settings: Callable[..., Settings]) -> None:
    with Runtime(make_settings(governance_min_group_size=2)) as rt:
        fill(rt)
        assert row(report(rt, "staff").table("department"), "RKU") == ["RKU", 2, 2, 600]
        assert report(rt, "staff", department="RKU").summary["requests_shown"] == 2


def test_equality_report(runtime: Runtime) -> None:
    with runtime.db.session() as session:
        session.add(BiasEvalRun(created_by="t", benchmark="GG-BBQ", subject_kind="model", subject="local-chat",
                                model="local-chat", model_version="v1", prompt_version="p1", n_items=40,
                                acc_ambig=0.5, acc_disambig=0.75, bias_ambig=0.1, bias_disambig=-0.05,
                                unparsable_rate=0.0, seconds=1.0,
                                guard={"rate": 0.04,
                                       "by_group": {"behindert": {"rate": 0.1}, "schwul": {"rate": 0.0}}}))
        audit.append(session, audit.AuditEntry(actor="k0", department="KVR", use_case="chat", action="model.refused",
                                               safeguards={"reason": "content-refused"}), key=runtime.gateway.audit_key)
        answers = [("de", False, 1), ("de", False, None), ("ar", True, -1), ("uk", False, None)]
        for lang, abstained, rating in answers:
            answer_id = uuid.uuid4()
            session.execute(sa.text(
                "INSERT INTO assistant_answers (id, assistant, channel, language, question, answer, abstained) "
                "VALUES (:id, 'buergerservice', 'web', :lang, 'q', 'a', :abst)"),
                {"id": answer_id, "lang": lang, "abst": abstained})
            if rating is not None:
                session.execute(sa.text("INSERT INTO assistant_feedback (answer_id, rating) VALUES (:id, :r)"),
                                {"id": answer_id, "r": rating})
    r = report(runtime, "equality", budgets.current_month())  # answers and audit records are stamped now
    runs = r.table("bias_runs").rows
    assert len(runs) == 1 and runs[0][0] == "local-chat" and runs[0][5:] == [40, 0.5, 0.75, 0.1, -0.05, 0.04]
    assert r.table("guard_identity").rows == [["behindert", 0.1], ["schwul", 0.0]]
    assert r.table("refusals").rows == [["content-refused", "chat", 1]]
    by_lang = {x[0]: x for x in r.table("language").rows}
    assert by_lang["de"] == ["de", "Lateinisch / Latin", 2, 0, 0.0, 1, 1.0]
    assert by_lang["ar"] == ["ar", "Arabisch / Arabic", 1, 1, 1.0, 1, 0.0]
    assert by_lang["uk"][1] == "Kyrillisch / Cyrillic" and by_lang["uk"][6] is None
    assert r.summary == {"bias_runs": 1, "refusals": 1, "answers": 4}
    # a month before the run: no history yet, and the month is empty
    assert report(runtime, "equality", "2020-01").table("bias_runs").rows == []


def test_csv_is_long_form_with_fixed_columns(runtime: Runtime) -> None:
    fill(runtime)
    lines = list(csv.reader(io.StringIO(render_csv(report(runtime, "climate")))))
    assert lines[0] == CSV_COLUMNS == ["report", "month", "department", "section", "dimensions", "key", "measure",
                                       "value"]
    cells = {(x[3], x[5], x[6]): x[7] for x in lines[1:]}
    assert cells[("department", "KVR", "energy_wh")] == "6.0"
    assert cells[("department", "RKU", "energy_wh")] == ""  # suppressed
    assert cells[("summary", "", "requests")] == "15"
    assert cells[("model", "cloud-chat | eu-cloud | test cloud (loopback) | estimated", "energy_wh_high")] == "12.0"


def test_empty_month_is_an_empty_report_and_bad_input_is_refused(runtime: Runtime) -> None:
    for kind in ("climate", "costs", "equality", "staff"):
        r = report(runtime, kind, "2025-01")
        assert r.empty, kind
    assert report(runtime, "costs", "2025-01").summary["net_eur"] == 0
    with pytest.raises(BadRequest, match="month must look like 2026-11, not '2026-13'"):
        report(runtime, "climate", "2026-13")
    with pytest.raises(NotFound, match="unknown department 'Nope'"):
        report(runtime, "climate", department="Nope")
    with pytest.raises(NotFound, match="unknown report 'weather'"):
        report(runtime, "weather")


# --- HTTP --------------------------------------------------------------------------------------------------------
def test_api_reports_and_problems(runtime: Runtime, client: TestClient) -> None:
    fill(runtime)
    ok = client.get(f"/api/v1/reports/climate?month={MONTH}")
    assert ok.status_code == 200 and ok.json()["summary"]["requests"] == 15
    as_csv = client.get(f"/api/v1/reports/staff?month={MONTH}&format=csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == ",".join(CSV_COLUMNS)
    html = client.get(f"/api/v1/reports/costs?month={MONTH}&format=html")
    assert html.status_code == 200 and "<svg" in html.text and "attachment" in html.headers["content-disposition"]
    for url, status, fragment in [
        ("/api/v1/reports/climate?month=2026-13", 400, "month must look like 2026-11"),
        ("/api/v1/reports/weather?month=2026-11", 404, "unknown report 'weather'"),
        (f"/api/v1/reports/climate?month={MONTH}&department=Nope", 404, "unknown department 'Nope'"),
        (f"/api/v1/reports/staff?month={MONTH}&by=principal", 422, "no per-person view"),
        (f"/api/v1/reports/staff?month={MONTH}&department=RKU", 422, "fewer than the minimum group size"),
        (f"/api/v1/reports/climate?month={MONTH}&format=pdf", 422, "format"),
    ]:
        res = client.get(url)
        assert res.status_code == status, (url, res.text)
        assert res.headers["content-type"].startswith("application/problem+json")
        assert fragment in res.json()["detail"], (url, res.json())
    empty = client.get("/api/v1/reports/climate?month=2025-01")
    assert empty.status_code == 200 and empty.json()["summary"]["requests"] == 0


def test_reports_need_an_oversight_role(runtime: Runtime, client: TestClient) -> None:
    with runtime.db.session() as session:
        user_key = create_api_key(session, "fachverfahren", "KVR", ["user"])
        oversight_key = create_api_key(session, "gremium", "GPR", ["oversight"])
    denied = client.get("/api/v1/reports/staff", headers={"Authorization": f"Bearer {user_key}"})
    assert denied.status_code == 403 and "oversight" in denied.json()["detail"]
    allowed = client.get("/api/v1/reports/staff", headers={"Authorization": f"Bearer {oversight_key}"})
    assert allowed.status_code == 200 and allowed.json()["kind"] == "staff"


def test_dashboard_and_report_pages(runtime: Runtime, client: TestClient) -> None:
    fill(runtime)
    page = client.get("/governance")
    assert page.status_code == 200
    assert 'href="/register"' in page.text and "Kette unversehrt" in page.text
    assert "audit_retention_days" in page.text and 'href="/governance/reports/climate?month=' in page.text
    report_page = client.get(f"/governance/reports/climate?month={MONTH}")
    assert report_page.status_code == 200 and "<svg" in report_page.text and "test machine" in report_page.text
    assert client.get("/governance/reports/climate?month=2026-13").status_code == 400


# --- CLI ---------------------------------------------------------------------------------------------------------
def cli(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    env.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "rathaus.cli", "report", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_cli_writes_csv_and_html_and_refuses_in_one_line(make_settings: Callable[..., Settings],
                                                         tmp_path: Path) -> None:
    settings = make_settings()
    with Runtime(settings) as rt:
        fill(rt)
    out = tmp_path / "costs.csv"
    done = cli(settings, tmp_path, "costs", "--month", MONTH, "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = list(csv.reader(out.open(encoding="utf-8")))
    assert lines[0] == CSV_COLUMNS and ["costs", MONTH, "", "summary", "", "", "benefit_eur", "24.0"] in lines
    done = cli(settings, tmp_path, "climate", "--month", MONTH)
    assert done.returncode == 0 and (tmp_path / f"climate-{MONTH}.html").read_text().count("<svg") >= 4
    refused = cli(settings, tmp_path, "staff", "--month", MONTH, "--by", "principal")
    assert refused.returncode == 1 and refused.stderr.strip().startswith("rathaus: no per-person view")
    assert len(refused.stderr.strip().splitlines()) == 1
    unknown = cli(settings, tmp_path, "climate", "--month", MONTH, "--department", "Nope")
    assert unknown.returncode == 1 and unknown.stderr.strip().splitlines() == [
        "rathaus: unknown department 'Nope': no usage recorded for it / unbekanntes Referat"]


@pytest.mark.parametrize(("args", "message"), [
    (("climate", "--month", "2026-13"), "rathaus: month must look like 2026-11, not '2026-13'"),
    (("costs", "--format", "pdf"), "rathaus: --format must be html or csv, not 'pdf'"),
])
def test_cli_bad_input_before_the_database(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                           message: str) -> None:
    from rathaus.cli import main

    code = main(["report", *args])
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert code == 1 and err == [message]


# --- dashboard figures and assumptions ---------------------------------------------------------------------------
def test_open_annex_iii_confirmations_from_the_audit_log(runtime: Runtime) -> None:
    from rathaus.governance.reports.dashboard import audit_integrity, open_annex_iii

    screening = {"high_risk": True, "areas": [{"area": "employment", "label": "Beschäftigung"}]}
    with runtime.db.session() as session:
        for assistant_id, risky in (("a1", True), ("a2", True), ("a3", False)):
            audit.append(session, audit.AuditEntry(
                actor="owner", department="POR", use_case="own-assistants", action="assistant.publish",
                safeguards={"ai_act_screening": screening if risky else {"high_risk": False}, "confirmed": risky},
                details={"assistant_id": assistant_id}), key=runtime.gateway.audit_key)
        audit.append(session, audit.AuditEntry(actor="admin", department="IT", use_case="own-assistants",
                                               action="assistant.unpublish", details={"assistant_id": "a2"}),
                     key=runtime.gateway.audit_key)
    with runtime.db.session() as session:
        open_ = open_annex_iii(session)
        integrity = audit_integrity(session, runtime.settings)
    assert [(x["assistant_id"], x["areas"], x["confirmed"], x["department"]) for x in open_] == [
        ("a1", ["Beschäftigung"], True, "POR")]
    assert integrity["ok"] and integrity["checked"] == 4


@pytest.mark.parametrize(("text", "message"), [
    ("hourly_rate_eur: [", "line 1, column"),
    ("hourly_rate_eur: {value: -1, source: x}", "hourly_rate_eur.value: Input should be greater than or equal to 0"),
])
def test_bad_assumptions_file_is_one_readable_line(tmp_path: Path, text: str, message: str) -> None:
    from rathaus.core.errors import ConfigError
    from rathaus.governance.reports.assumptions import load_assumptions

    path = tmp_path / "a.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_assumptions(path)
    assert message in str(caught.value.detail) and "\n" not in str(caught.value.detail)


def test_monthly_run_writes_the_four_reports(runtime: Runtime) -> None:
    import datetime as dt

    from rathaus.core import capability
    from rathaus.governance.reports.monthly import monthly_reports, previous_month

    assert previous_month(dt.date(2027, 1, 1)) == "2026-12" and previous_month(dt.date(2026, 12, 31)) == "2026-11"
    assert capability.find_job("governance.monthly_reports").every == "30 4 1 * *"
    fill(runtime)
    result = monthly_reports(runtime, MONTH)
    folder = Path(runtime.settings.data_dir) / "reports" / MONTH
    assert sorted(Path(f).name for f in result["files"]) == sorted(
        f"{k}-{MONTH}.{s}" for k in ("climate", "costs", "equality", "staff") for s in ("html", "csv"))
    assert "benefit_eur,24.0" in (folder / f"costs-{MONTH}.csv").read_text(encoding="utf-8")
