"""Sample content of the embedded default: the sample catalogue, loans and searches (``samples/``), imported
once into an empty library and trained once, so that ``rathaus up`` answers the library endpoints at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from rathaus.library.catalogue import SAMPLE_DIR
from rathaus.library.schema import LibraryItem
from rathaus.library.store import import_catalogue, import_loans, import_searches
from rathaus.library.training import current_id, train

if TYPE_CHECKING:
    from rathaus.runtime import Runtime


def ensure_samples(runtime: Runtime, user: str = "samples") -> dict[str, Any]:
    """Import the samples when the catalogue is empty (an existing catalogue is never touched) and train when
    no model exists. Returns what was done."""
    done: dict[str, Any] = {"imported": False, "trained": None}
    with runtime.db.session() as session:
        empty = session.scalar(sa.select(sa.func.count()).select_from(LibraryItem)) == 0
    if empty:
        import_catalogue(runtime.db, (SAMPLE_DIR / "katalog.csv").read_bytes(), "katalog.csv", user=user)
        import_loans(runtime.db, (SAMPLE_DIR / "ausleihen.csv").read_bytes(), "ausleihen.csv", user=user)
        import_searches(runtime.db, (SAMPLE_DIR / "suchen.csv").read_bytes(), "suchen.csv", user=user)
        done["imported"] = True
    if current_id(runtime.settings) is None:
        done["trained"] = train(runtime).model_id
    return done
