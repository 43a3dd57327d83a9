"""A check result as stored (JSON, ``dataclasses.asdict`` plus what the views need) and back.

The stored dict is :class:`CheckResult` as ``asdict`` with ``complete`` and ``counts``, the recognised documents
(kind, confidence, pages, fields) and per page how it was read (``pages``: source, confidence, rotation, skew) –
the image crops of the evidence need the rotation the reading applied.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from rathaus.checks.model import ChecklistItem, CheckResult, Evidence, FileProblem, Packet


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def to_dict(result: CheckResult, packet: Packet | None = None) -> dict[str, Any]:
    data = asdict(result)
    data["complete"] = result.complete
    data["counts"] = result.counts()
    if packet is not None:
        data["documents"] = [{"file": d.file, "kind": d.kind, "confidence": round(d.confidence, 3),
                              "pages": [p.number for p in d.pages],
                              "fields": {k: {"value": v.value, "confidence": round(v.confidence, 3)}
                                         for k, v in d.fields.items()}} for d in packet.documents]
        pages: dict[str, dict[str, Any]] = {}
        for doc in packet.documents:
            for page in doc.pages:
                pages.setdefault(page.file, {})[str(page.number)] = {
                    "source": page.source, "confidence": round(page.confidence, 3), "rotation": page.rotation,
                    "skew": round(page.skew, 2)}
        data["pages"] = pages
        data["form"] = {k: {"value": v.value, "confidence": round(v.confidence, 3)} for k, v in packet.form.items()}
        data["language"] = packet.language
        data["declared_type"] = packet.type_id
    return data


def evidence_from(data: dict[str, Any]) -> Evidence:
    values = _known(Evidence, data)
    bbox = values.get("bbox")
    values["bbox"] = tuple(int(v) for v in bbox) if bbox else None
    return Evidence(**values)


def from_dict(data: dict[str, Any]) -> CheckResult:
    items = [ChecklistItem(**{**_known(ChecklistItem, item),
                              "evidence": [evidence_from(e) for e in item.get("evidence") or []]})
             for item in data.get("items") or []]
    problems = [FileProblem(**_known(FileProblem, p)) for p in data.get("problems") or []]
    return CheckResult(type_id=data["type_id"], annex_iii=bool(data.get("annex_iii")), items=items, problems=problems)


def numbered_evidence(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every evidence of the checklist in order, numbered from 1 (the n of ``…/evidence/{n}.png``)."""
    out: list[dict[str, Any]] = []
    for item in data.get("items") or []:
        for ev in item.get("evidence") or []:
            out.append({**ev, "n": len(out) + 1, "requirement": item.get("requirement")})
    return out


def applicant_name(data: dict[str, Any]) -> str:
    """First and last name as read from the form (for the letter's greeting); empty when not read."""
    form = data.get("form") or {}
    return " ".join(str((form.get(k) or {}).get("value") or "").strip() for k in ("vorname", "nachname")).strip()
