"""Writing tools of the employee assistant: summarise, simplify, translate, draft, brainstorm.

Each tool makes a few short model calls through the gateway (routing, budgets, metering and audit apply) and
then checks the model's output with code; deterministic repairs do the heavy lifting, because the shipped
model is small (1.5 B parameters). One module per tool, each with its options model and its checks; shared
by them:

* :mod:`.registry` — ``TOOLS``: name → function and options model (what the chat dispatches on);
* :mod:`.options` — the options base class and its readable errors;
* :mod:`.calls` — model calls sized to the routed model, and the :class:`ToolResult` every tool returns;
* :mod:`.text` — input check and cleanup of model output;
* :mod:`.numbers` — numbers, dates and amounts checked against the source (summarise, simplify, translate);
* :mod:`.gender_fair` — generic masculine forms replaced or flagged (draft);
* :mod:`.outline` — Markdown outlines and Mermaid mindmaps (brainstorm).

Readability (Wiener Sachtextformel, A2/B1 targets) is :mod:`rathaus.core.readability`.
"""

from rathaus.assistants.tools.calls import ToolResult
from rathaus.assistants.tools.options import ToolOptions
from rathaus.assistants.tools.registry import TOOLS, Tool

__all__ = ["TOOLS", "Tool", "ToolOptions", "ToolResult"]
