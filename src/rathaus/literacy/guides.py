"""Guidance where the work happens: per tool a "what it does / what it cannot do / what to check" panel, and the
hints next to a refusal for the data class, an abstention or a guard warning – each linking to its module.

Texts live in rathaus/literacy/guides/*.yaml (one file per tool; an assistant without its own file gets
``assistants.yaml``), German first.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from rathaus.core.errors import ConfigError

FOLDER = Path(__file__).resolve().parent / "guides"
HINT_KINDS = ("data_class", "abstention", "guard")


@cache
def _read(name: str) -> dict[str, Any] | None:
    path = FOLDER / f"{name}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a guide is a mapping")
    return data


def tool_guide(tool: str, lang: str = "de", fallback: str = "assistants") -> dict[str, str]:
    """The panel of ``tool`` (e.g. ``chat``, ``assistants`` or an assistant's name) in ``lang``: title, does,
    cannot, check and the link to its module."""
    safe = tool if tool.replace("-", "").replace("_", "").isalnum() else fallback
    data = _read(safe) or _read(fallback)
    if data is None:
        raise ConfigError(f"no guide for {tool!r} and no fallback {fallback!r}")
    suffix = "en" if lang == "en" else "de"
    guide = {key: str(data.get(f"{key}_{suffix}") or data.get(f"{key}_de", "")) for key in
             ("title", "does", "cannot", "check")}
    guide["module"] = str(data.get("module", ""))
    guide["href"] = f"/lernen/{guide['module']}" if guide["module"] else "/lernen"
    return guide


def hints(lang: str = "de") -> dict[str, dict[str, str]]:
    """The contextual hints by kind (data_class, abstention, guard): text, module and link."""
    data = _read("hints") or {}
    suffix = "en" if lang == "en" else "de"
    found = {}
    for kind in HINT_KINDS:
        entry = data.get(kind) or {}
        module = str(entry.get("module", ""))
        found[kind] = {"text": str(entry.get(suffix) or entry.get("de", "")), "module": module,
                       "href": f"/lernen/{module}" if module else "/lernen"}
    return found
