"""The demo collection of the embedded default: real, public council records (see samples/*/SOURCES.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rathaus.core.auth import Principal
from rathaus.core.errors import NotFound
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Ingestor, IngestReport, sources_from_paths

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SAMPLE = {"name": "ki-roadmap", "title": "KI-Roadmap der Landeshauptstadt München (Stadtratsunterlagen)",
          "department": "IT-Referat"}


def ensure_samples(runtime: Runtime, principal: Principal,
                   progress: Callable[[int, int, str], None] | None = None) -> IngestReport:
    """Create the sample collection if missing and (re-)ingest it; unchanged files are skipped."""
    with runtime.db.session() as session:
        try:
            collections.get_readable(session, principal, SAMPLE["name"])
        except NotFound:
            collections.create(session, principal, SAMPLE["name"], title=SAMPLE["title"], visibility="public",
                               departments=[SAMPLE["department"]],
                               embedding_model=runtime.catalog.defaults.embedding)
    folder = SAMPLES_DIR / SAMPLE["name"]
    sources, problems = sources_from_paths([p for p in sorted(folder.iterdir()) if p.name != "SOURCES.md"])
    return Ingestor(runtime, principal, SAMPLE["name"]).run(sources, failures=problems, progress=progress)
