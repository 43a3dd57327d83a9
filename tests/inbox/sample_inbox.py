"""The sample inbox the inbox tests share: a Bürgerbüro knowledge collection (one synthetic page) and the sample
routing model, mails stored and processed (rathaus.inbox.samples)."""

from __future__ import annotations

from pathlib import Path

from rathaus.core.auth import Principal
from rathaus.inbox.samples import ensure_samples
from rathaus.knowledge import collections
from rathaus.knowledge.ingest import Ingestor, sources_from_paths
from rathaus.runtime import Runtime

ADMIN = Principal(id="admin-1", kind="user", department="verwaltung", roles=frozenset({"admin"}))
OPENING_HOURS = (
    "# Bürgerbüro Musterstadt (Beispiel)\n\nDas Bürgerbüro hat montags bis freitags von 8 bis 12 Uhr geöffnet. "
    "Termine zur Ummeldung vereinbaren Sie online oder telefonisch. Ohne Termin werden nur Notfälle "
    "bedient.\n\nDie Ummeldung ist innerhalb von zwei Wochen nach dem Umzug nötig.")


def load_sample_inbox(runtime: Runtime, folder: Path) -> dict[str, object]:
    """The collection ``buergerbuero`` from ``folder`` (written here), then the sample inbox; what it did."""
    (folder / "oeffnungszeiten.md").write_text(OPENING_HOURS, encoding="utf-8")
    editor = Principal(id="kb", kind="user", department="buergerbuero", roles=frozenset({"admin"}))
    with runtime.db.session() as s:
        collections.create(s, editor, "buergerbuero", visibility="public")
    sources, _ = sources_from_paths([folder])
    Ingestor(runtime, editor, "buergerbuero").run(sources)
    return ensure_samples(runtime, ADMIN)
