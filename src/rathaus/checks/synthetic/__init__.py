"""Synthetic application packets with known defects – the test and benchmark data of rathaus.checks.

    generate(out_dir, n_clean=6, n_defective=10, seed=1, degradation="moderate")

writes one folder per packet (the form as filled AcroForm PDF and as JSON, one image per document page) and
``manifest.json`` with the truth: application type, submission date, degradation, the files to submit, the form
values, the documents with their fields and the text of every rendered page (for OCR accuracy), and the defects,
each with the checklist requirement ids it must make fail. Everything follows from ``seed``: the same seed gives
the same bytes. All data is invented (faker, German locale) and every page is marked "MUSTER – synthetische
Daten".

``python -m rathaus.checks.synthetic samples`` regenerates the shipped sample packets
(src/rathaus/samples/checks/<type-id>/); ``python -m rathaus.checks.synthetic generate DIR`` a test set.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from PIL import Image

from rathaus.checks.definitions import ApplicationType, shipped_types
from rathaus.checks.synthetic.degrade import LEVELS, degrade
from rathaus.checks.synthetic.facts import make_facts
from rathaus.checks.synthetic.formfile import form_json, form_pdf
from rathaus.checks.synthetic.plan import (
    DEFECT_KINDS,
    Defect,
    Draft,
    applicable,
    apply_defect,
    form_values,
    plan_documents,
)
from rathaus.checks.synthetic.render import FILE_STEMS, RENDERERS, Rendered
from rathaus.checks.synthetic.sheet import MUSTER

__all__ = ["DEFECT_KINDS", "LEVELS", "MUSTER", "generate", "make_packet", "write_samples"]

REFERENCE_DAY = date(2026, 9, 1)  # submission dates are drawn after this day, never from the clock
FOREIGN_TYPES = ("aufenthalt",)  # type ids containing this get a non-EU applicant with a passport


def _mix(degradation: str | Mapping[str, float]) -> dict[str, float]:
    if isinstance(degradation, str):
        if degradation not in LEVELS:
            raise ValueError(f"unknown degradation {degradation!r} (known: {', '.join(LEVELS)})")
        return {degradation: 1.0}
    unknown = set(degradation) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown degradation levels {sorted(unknown)} (known: {', '.join(LEVELS)})")
    return {level: float(share) for level, share in degradation.items() if share > 0}


def _draw(mix: dict[str, float], rng: random.Random) -> str:
    levels = sorted(mix)
    return rng.choices(levels, weights=[mix[level] for level in levels])[0]


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _foreign(app_type: ApplicationType, rng: random.Random, wants_id: bool) -> bool:
    """A non-EU applicant: always for the residence permit; for types that ask (a field "drittstaat"), one in
    five applicants – and always when the defect needs an ID document with an expiry (the residence permit)."""
    if any(word in app_type.id for word in FOREIGN_TYPES):
        return True
    asks = any(item.id == "drittstaat" for item in app_type.fields)
    return asks and (wants_id or rng.random() < 0.2)


def _draft(app_type: ApplicationType, rng: random.Random, fake: Faker, submitted_on: date, *,
           wants_id: bool = False) -> Draft:
    facts = make_facts(rng, fake, submitted_on, foreign=_foreign(app_type, rng, wants_id))
    values = form_values(app_type, facts, rng, fake)
    return Draft(app_type, facts, values, plan_documents(app_type, values, facts, rng))


def make_packet(folder: Path, packet_id: str, app_type: ApplicationType, *, seed: int, level: str,
                defect: str | None, dpi: int = 200, form_format: str | None = None,
                jpeg_quality: int | None = None) -> dict[str, Any]:
    """Write one packet to ``folder`` and return its manifest entry."""
    rng = random.Random(seed)
    fake = Faker("de_DE")
    fake.seed_instance(seed)
    submitted_on = REFERENCE_DAY + timedelta(days=rng.randint(0, 120))
    for _attempt in range(12):  # a packet drawn without a place for the defect (no ID document, …) is redrawn
        draft = _draft(app_type, rng, fake, submitted_on, wants_id=defect in ("expired_id", "mrz_check_digit"))
        if defect is None:
            break
        found = apply_defect(draft, defect, rng, fake)
        if found is not None:
            draft.defects.append(found)
            break
    else:
        raise ValueError(f"defect {defect!r} does not apply to type {app_type.id!r}")
    folder.mkdir(parents=True, exist_ok=True)
    form_format = form_format or ("json" if rng.random() < 0.25 else "pdf")
    (folder / "antrag.pdf").write_bytes(form_pdf(app_type, draft.values))
    created = dt.datetime.combine(submitted_on, dt.time(9, 30), tzinfo=dt.UTC)
    (folder / "antrag.json").write_text(form_json(app_type, draft.values, created) + "\n", encoding="utf-8")
    files = [f"antrag.{form_format}"]
    documents: list[dict[str, Any]] = []
    pages_written = 0
    counter = 0
    for index, spec in enumerate(draft.specs):
        rendered: Rendered = RENDERERS[spec.kind](draft.facts_for(index), spec, rng, dpi)
        pages: list[dict[str, Any]] = []
        for page in rendered.pages:
            if (index, page.number) in draft.drop_pages:
                continue
            counter += 1
            side = ""
            if spec.kind == "id_card":
                side = "_vorderseite" if page.number == 1 else "_rueckseite"
            elif page.count > 1:
                side = f"_seite{page.number}"
            suffix = f"_{spec.index + 1}" if spec.index else ""
            name = f"{counter:02d}_{FILE_STEMS[spec.kind]}{suffix}{side}.jpg"
            image, params = degrade(page.image, level, rng)
            if jpeg_quality is not None:
                params["jpeg_quality"] = min(jpeg_quality, params["jpeg_quality"])
            (folder / name).write_bytes(_encode(image, params["jpeg_quality"]))
            files.append(name)
            pages_written += 1
            pages.append({"file": name, "page": 1, "page_of": f"{page.number}/{page.count}", "text": page.text,
                          "degradation": params})
        documents.append({"kind": spec.kind, "requirement": spec.requirement, "fields": rendered.fields,
                          "pages": pages})
    return {
        "id": packet_id, "type": app_type.id, "submitted_on": submitted_on.isoformat(), "degradation": level,
        "seed": seed, "form_format": form_format, "files": files,
        "form": {key: value for key, value in draft.values.items()},
        "defects": [_defect(d) for d in draft.defects], "documents": documents,
        "pages": pages_written,
    }


def _defect(defect: Defect) -> dict[str, Any]:
    return {"kind": defect.kind, "requirements": defect.requirements, "detail": defect.detail}


def _assignments(types: list[ApplicationType], n_clean: int, n_defective: int, seed: int,
                 kinds: tuple[str, ...]) -> list[tuple[ApplicationType, str | None]]:
    """Clean packets round-robin over the types; defective ones round-robin over the defect kinds, each on the
    next type (in turn) where it applies."""
    plan: list[tuple[ApplicationType, str | None]] = [(types[i % len(types)], None) for i in range(n_clean)]
    rng = random.Random(seed)
    fake = Faker("de_DE")
    fake.seed_instance(seed)
    probes: dict[str, list[Draft]] = {
        app_type.id: [_draft(app_type, random.Random(seed + k), fake, REFERENCE_DAY, wants_id=k % 2 == 0)
                      for k in range(6)] for app_type in types}
    type_turn = 0
    for i in range(n_defective):
        kind = kinds[i % len(kinds)]
        for step in range(len(types)):
            app_type = types[(type_turn + step) % len(types)]
            if any(applicable(app_type, kind, probe, rng, fake) for probe in probes[app_type.id]):
                plan.append((app_type, kind))
                type_turn = (type_turn + step + 1) % len(types)
                break
    return plan


def _make(job: tuple[Path, str, ApplicationType, int, str, str | None, int]) -> dict[str, Any]:
    folder, packet_id, app_type, seed, level, defect, dpi = job
    return make_packet(folder, packet_id, app_type, seed=seed, level=level, defect=defect, dpi=dpi)


def generate(out_dir: Path | str, n_clean: int = 6, n_defective: int = 10, seed: int = 1,
             degradation: str | Mapping[str, float] = "moderate", *, types: list[ApplicationType] | None = None,
             defect_kinds: tuple[str, ...] = DEFECT_KINDS, dpi: int = 200, workers: int = 1) -> dict[str, Any]:
    """Write ``n_clean`` clean and ``n_defective`` defective packets (one defect each) under ``out_dir`` with
    ``manifest.json``; returns the manifest. ``degradation``: a level ("none", "moderate", "strong") or a mix
    of levels with weights, drawn per packet. ``workers`` > 1 draws packets in that many processes (each packet
    has its own seed, so the result is the same)."""
    out = Path(out_dir)
    mix = _mix(degradation)
    chosen = types if types is not None else list(shipped_types().values())
    if not chosen:
        raise ValueError("no application types (config/checks/*.yaml) to generate packets for")
    rng = random.Random(seed)
    jobs = []
    for number, (app_type, defect) in enumerate(_assignments(chosen, n_clean, n_defective, seed, defect_kinds)):
        packet_id = f"{number + 1:03d}-{app_type.id}-{defect or 'ok'}"
        level = _draw(mix, rng)
        jobs.append((out / packet_id, packet_id, app_type, rng.randrange(1 << 31), level, defect, dpi))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            packets = list(pool.map(_make, jobs))
    else:
        packets = [_make(job) for job in jobs]
    manifest = {"generator": "rathaus.checks.synthetic", "seed": seed, "degradation": mix, "dpi": dpi,
                "note": MUSTER, "packets": packets}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


# One sample per shipped type for the embedded default: which defect it shows (None: complete) and its seed.
# The housing-benefit sample is not signed, so the checklist and the letter have something to show.
SAMPLES: dict[str, tuple[str | None, int]] = {
    "wohngeld-erstantrag": ("missing_signature", 1001),
    "bewohnerparkausweis": (None, 1002),
    "aufenthaltserlaubnis-beschaeftigung": (None, 1003),
}


def write_samples(root: Path, *, dpi: int = 200) -> list[Path]:
    """The shipped sample packets: one per type, undegraded (level "none", 200 dpi, JPEG quality 75)."""
    folders = []
    for number, app_type in enumerate(shipped_types().values()):
        defect, seed = SAMPLES.get(app_type.id, (None, 1000 + number))
        folder = root / app_type.id
        for old in folder.glob("*") if folder.exists() else []:
            old.unlink()
        entry = make_packet(folder, app_type.id, app_type, seed=seed, level="none", defect=defect, dpi=dpi,
                            form_format="pdf", jpeg_quality=75)
        (folder / "manifest.json").write_text(json.dumps({"note": MUSTER, "packets": [entry]}, ensure_ascii=False,
                                                         indent=1) + "\n", encoding="utf-8")
        folders.append(folder)
    return folders
