"""The writing tools by name: each one's function and its options model.

``TOOLS["summarise"]`` is a :class:`Tool`; the chat (:mod:`rathaus.assistants.conversation`) validates a turn's
options with :meth:`Tool.parse` before anything is saved and runs the tool with :meth:`Tool.run`. A new tool is
one module with a function ``name(runtime, ctx, text, *, model=None, **options) -> ToolResult`` and a
:class:`~rathaus.assistants.tools.options.ToolOptions` subclass whose fields are exactly those keyword options,
plus one line here (and its name in the chat modes of the API and the web workspace).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rathaus.assistants.tools.brainstorm import BrainstormOptions, brainstorm
from rathaus.assistants.tools.calls import ToolResult
from rathaus.assistants.tools.draft import DraftOptions, draft
from rathaus.assistants.tools.options import ToolOptions
from rathaus.assistants.tools.simplify import SimplifyOptions, simplify
from rathaus.assistants.tools.summarise import SummariseOptions, summarise
from rathaus.assistants.tools.translate import TranslateOptions, translate


@dataclass(frozen=True)
class Tool:
    name: str
    function: Callable[..., ToolResult]  # function(runtime, ctx, text, *, model=None, **options)
    options: type[ToolOptions]

    def parse(self, values: Mapping[str, Any]) -> ToolOptions:
        """The validated options (``None`` values count as not given); bad ones are a ``BadRequest``."""
        return self.options.parse({k: v for k, v in values.items() if v is not None})

    def run(self, runtime: Any, ctx: Any, text: str, *, model: str | None = None,
            options: ToolOptions | Mapping[str, Any] | None = None) -> ToolResult:
        """Run the tool on ``text`` with validated (or still to validate) options."""
        if not isinstance(options, ToolOptions):
            options = self.parse(options or {})
        return self.function(runtime, ctx, text, model=model, **options.model_dump())


TOOLS: Mapping[str, Tool] = MappingProxyType({tool.name: tool for tool in (
    Tool("summarise", summarise, SummariseOptions),
    Tool("simplify", simplify, SimplifyOptions),
    Tool("translate", translate, TranslateOptions),
    Tool("draft", draft, DraftOptions),
    Tool("brainstorm", brainstorm, BrainstormOptions),
)})
