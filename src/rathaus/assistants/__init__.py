"""Assistants: the employee workspace, writing tools, citizen assistants and own assistants.

Public API for other capabilities (the inbox drafts replies with it): :class:`Answerer` answers a question from
knowledge collections with verified quotes, :class:`Assistant` describes who answers from which collections,
:class:`Answer` and :class:`Citation` are what comes back; :func:`measure_readability` scores German text (Wiener
Sachtextformel, :class:`Readability`). Imported lazily, so ``rathaus.assistants.settings``
stays cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rathaus.assistants.answer import Answer, Answerer, Citation
    from rathaus.assistants.definitions import Assistant
    from rathaus.assistants.readability import Readability
    from rathaus.assistants.readability import measure as measure_readability

__all__ = ["Answer", "Answerer", "Assistant", "Citation", "Readability", "measure_readability"]


def __getattr__(name: str) -> Any:
    if name in ("Answer", "Answerer", "Citation"):
        from rathaus.assistants import answer

        return getattr(answer, name)
    if name == "Assistant":
        from rathaus.assistants.definitions import Assistant

        return Assistant
    if name in ("Readability", "measure_readability"):
        from rathaus.assistants import readability

        return readability.Readability if name == "Readability" else readability.measure
    raise AttributeError(f"module 'rathaus.assistants' has no attribute {name!r}")
