"""Options of the writing tools as pydantic models, and their errors as one readable line.

Each tool declares its options as a subclass of :class:`ToolOptions` next to its function (e.g.
``SummariseOptions(length: Literal["kurz", "mittel", "lang"] = "mittel")``); the registry
(:mod:`rathaus.assistants.tools.registry`) pairs the two. A choice is matched case-insensitively and through
aliases (``Choice``), so "Kurz" and "short" both mean "kurz". Anything invalid becomes a
:class:`~rathaus.core.errors.BadRequest` (HTTP 400 problem+json) naming the tool, the value and what is
allowed, in German and English: ``summarise: unbekannte(r) Länge 'episch'; erlaubt: kurz, mittel, lang /
unknown length 'episch'; allowed: kurz, mittel, lang``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, get_args

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationError
from pydantic_core import core_schema

from rathaus.core.errors import BadRequest


@dataclass(frozen=True)
class Choice:
    """Metadata for a ``Literal`` option: matched case-insensitively and through ``aliases``; an unknown value
    is refused with its German and English name (``de``, ``en``) and the allowed values in declared order.

        length: Annotated[Literal["kurz", "mittel", "lang"], Choice("Länge", "length", {"short": "kurz"})]
    """

    de: str
    en: str
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        allowed = [str(a) for a in get_args(source)]
        if not allowed:
            raise TypeError(f"Choice({self.en!r}) needs a Literal type, not {source!r}")

        def pick(value: Any) -> str:
            key = value.strip().lower() if isinstance(value, str) else None
            key = self.aliases.get(key, key) if key is not None else None
            for option in allowed:
                if key == option.lower():
                    return option
            raise ValueError(f"unbekannte(r) {self.de} {value!r}; erlaubt: {', '.join(allowed)} / "
                             f"unknown {self.en} {value!r}; allowed: {', '.join(allowed)}")

        return core_schema.no_info_before_validator_function(pick, handler(source))


class ToolOptions(BaseModel):
    """The options of one tool; :meth:`parse` turns invalid values into one readable :class:`BadRequest`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tool: ClassVar[str] = "tool"  # the tool's (or chat mode's) name, the prefix of every message

    @classmethod
    def names(cls) -> list[str]:
        """The option names, sorted."""
        return sorted(cls.model_fields)

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        """Validated options; an unknown name or a bad value is a :class:`BadRequest` (the first problem)."""
        unknown = sorted(k for k in values if k not in cls.model_fields)
        if unknown:
            raise BadRequest(f"mode {cls.tool!r} takes no option {', '.join(unknown)}; it takes "
                             f"{', '.join(cls.names()) or 'none'}")
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise BadRequest(f"{cls.tool}: {_first_problem(exc)}") from None


def _first_problem(exc: ValidationError) -> str:
    """The message of the first error: our validators' own text, else pydantic's with the option's name."""
    error = exc.errors(include_url=False)[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']} ({error.get('input')!r})"
