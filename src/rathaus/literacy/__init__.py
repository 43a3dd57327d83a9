"""AI literacy for staff (EU AI Act Art. 4): guidance panels inside every tool, short modules with a check, and a
record per department in aggregates.

Public API for the web and API layers: :func:`tool_guide` and :func:`hints` (panels and contextual hints),
:func:`require_basics` (the optional gate before a high-risk assistant). Imported lazily.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hints", "require_basics", "tool_guide"]


def __getattr__(name: str) -> Any:
    if name in ("tool_guide", "hints"):
        from rathaus.literacy import guides

        return getattr(guides, name)
    if name == "require_basics":
        from rathaus.literacy.service import require_basics

        return require_basics
    raise AttributeError(f"module 'rathaus.literacy' has no attribute {name!r}")
