"""The sample packets shipped with rathaus (src/rathaus/samples/checks/, made by rathaus.checks.synthetic from
synthetic data – no real person) and loading them into the embedded default: one checked packet per type,
marked as synthetic (reference ``sample:<name>``)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from rathaus.checks.schema import CheckPacket
from rathaus.checks.uploads import Upload
from rathaus.core.auth import Principal

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "checks"
NOT_FILES = {"manifest.json", "README.md", "SOURCES.md", "PROVENANCE.md", "truth.json"}


@dataclass
class SamplePacket:
    name: str
    path: Path
    type_id: str
    submitted_on: dt.date
    files: list[Path]
    form: dict[str, Any] | None = None  # form data sent with the files (None: the form is among the files)
    defects: list[str] = field(default_factory=list)
    description: str = ""


def _files(folder: Path, manifest: dict[str, Any]) -> list[Path]:
    listed = manifest.get("files")
    if isinstance(listed, list) and listed:
        names = [f if isinstance(f, str) else str(f.get("name") or f.get("file") or f.get("path")) for f in listed]
        return [folder / n for n in names if (folder / n).is_file()]
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name not in NOT_FILES)


def sample_packets(root: Path = SAMPLES) -> list[SamplePacket]:
    """The shipped sample packets: every folder below ``root`` with a ``manifest.json`` naming its type."""
    found: list[SamplePacket] = []
    if not root.is_dir():
        return found
    for manifest_path in sorted(root.rglob("manifest.json")):
        folder = manifest_path.parent
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not isinstance(manifest, dict):
            continue
        packets = manifest.get("packets")
        entries = packets if isinstance(packets, list) else [manifest]
        for entry in entries:
            sub = folder / str(entry.get("dir") or entry.get("folder") or entry.get("name") or "")
            sub = sub if sub.is_dir() and sub != folder else folder
            type_id = entry.get("type_id") or entry.get("type")
            if not type_id:
                continue
            form = entry.get("form_data")  # "form" in the generator's manifest is the truth, not data to send
            defects = entry.get("defects") or []
            found.append(SamplePacket(
                name=str(entry.get("name") or sub.name), path=sub, type_id=str(type_id),
                submitted_on=dt.date.fromisoformat(str(entry.get("submitted_on") or dt.date.today().isoformat())),
                files=_files(sub, entry), form=form if isinstance(form, dict) else None,
                defects=[d if isinstance(d, str) else str(d.get("kind") or d.get("type") or d) for d in defects],
                description=str(entry.get("description") or "")))
    return found


def ensure_samples(runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """Store and check each sample packet once (idempotent on its reference); what was added."""
    from rathaus.checks import service

    known = service.types(runtime)
    added: list[str] = []
    for sample in sample_packets():
        if sample.type_id not in known or not sample.files:
            continue
        reference = f"{service.SAMPLE_PREFIX}{sample.name}"
        with runtime.db.session() as session:
            if session.scalar(sa.select(CheckPacket.id).where(CheckPacket.reference == reference)):
                continue
        uploads = [Upload(p.name, p.read_bytes()) for p in sample.files]
        received = min(sample.submitted_on, dt.date.today())  # a generated date may lie a few days ahead
        service.create_packet(runtime, principal, uploads, type_id=sample.type_id, submitted_on=received,
                              form=json.dumps(sample.form) if sample.form else None, reference=reference,
                              run_now=True)
        added.append(sample.name)
    return {"added": added}
