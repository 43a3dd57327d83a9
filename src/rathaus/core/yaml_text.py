"""YAML read with a readable error: which file, which line and column, what is wrong."""

from __future__ import annotations

from typing import Any

import yaml

from rathaus.core.errors import BadRequest, RathausError


def load_yaml(text: str, source: str, error: type[RathausError] = BadRequest) -> Any:
    """``text`` parsed (safe loader); YAML that does not parse raises ``error`` with the message
    ``"<source> line L, column C: not valid YAML: <problem>"``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise error(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
