"""The safeguards of one model call, as the gateway applies them (built on ``rathaus.safety``'s detectors).

In:  the content guard reads the newest user message (``block`` refuses it with a 422 problem); personal data
     is pseudonymised, refused or allowed when the routed model is not cleared for ``personenbezogen``.
Out: placeholders are restored for the user; the content guard reads the answer (``block`` replaces it with a
     respectful refusal). Streams in ``block`` mode are released sentence by sentence, each only after the
     guard has passed the text so far, so nothing unchecked reaches the user.

The pseudonym mapping lives in this object only (one model call) and is never logged; the audit log gets
counts per kind and the guard's scores (:attr:`RequestSafety.report`).

This module lives in ``rathaus.models`` (not ``rathaus.safety``) so the dependency runs one way: the gateway
uses safety's detectors (``safety.pii``, ``safety.guard``) and its policy type; ``rathaus.safety`` never
imports ``rathaus.models``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from rathaus.core.errors import ContentRefused, PersonalDataBlocked
from rathaus.core.safeguards import ContentGuardPolicy, PersonalDataPolicy
from rathaus.models.types import ChatMessage
from rathaus.safety.policy import SafetyPolicy

if TYPE_CHECKING:  # imported when first used: the detectors load their models lazily
    from rathaus.safety.pii import Pseudonymiser, StreamRestorer

REFUSAL = ("Diese Antwort wird nicht angezeigt, weil sie abwertende oder diskriminierende Inhalte enthalten könnte. "
           "Bitte stellen Sie Ihre Frage anders. / This answer is withheld because it may contain offensive or "
           "discriminatory content. Please rephrase your question.")
INPUT_REFUSED = ("Die Anfrage wurde nicht bearbeitet, weil sie abwertende oder diskriminierende Inhalte enthalten "
                 "könnte. Bitte formulieren Sie sie sachlich. / The request was not processed because it may contain "
                 "offensive or discriminatory content; please phrase it factually.")
_SENTENCE_END = re.compile(r"[.!?…:]\s|\n")


class RequestSafety:
    def __init__(self, policy: SafetyPolicy, cleared_for_personal_data: bool):
        self.policy = policy
        self.cleared = cleared_for_personal_data
        self.report: dict[str, Any] = {"personal_data": policy.personal_data, "content_guard": policy.content_guard}
        self.warnings: list[str] = []
        self.replaced = False
        self._pseudonymiser: Pseudonymiser | None = None

    # --- in --------------------------------------------------------------------------------------------
    def inbound(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        """The messages as the model may see them; raises ContentRefused / PersonalDataBlocked."""
        last = next((m for m in reversed(messages) if m.role == "user"), None)
        if last is not None:
            verdict = self._guard(last.content, "input")
            if verdict and self.policy.content_guard == ContentGuardPolicy.BLOCK:
                raise ContentRefused(INPUT_REFUSED, extra={"guard_score": self.report["guard_input"]["score"]})
        if self.cleared:
            self.report["personal_data_action"] = "model cleared"
            return messages
        from rathaus.safety import pii

        if self.policy.personal_data == PersonalDataPolicy.ALLOW:
            self.report["personal_data_action"] = "allowed"
            return messages
        if self.policy.personal_data == PersonalDataPolicy.BLOCK:
            found: dict[str, int] = {}
            for m in messages:
                for kind, n in pii.contains_pii(m.content).items():
                    found[kind] = found.get(kind, 0) + n
            self.report["personal_data_found"] = found
            if found:
                self.report["personal_data_action"] = "blocked"
                kinds = ", ".join(sorted(found))
                raise PersonalDataBlocked(
                    f"Die Anfrage enthält personenbezogene Daten ({kinds}); das gewählte Modell ist dafür nicht "
                    f"freigegeben. / The request contains personal data ({kinds}) and the model is not cleared "
                    "for it.", extra={"found": found})
            self.report["personal_data_action"] = "none found"
            return messages
        self._pseudonymiser = pii.Pseudonymiser()
        out = [ChatMessage(m.role, self._pseudonymiser.pseudonymise(m.content)) for m in messages]
        found = dict(self._pseudonymiser.found)
        self.report["personal_data_found"] = found
        self.report["personal_data_action"] = "pseudonymised" if found else "none found"
        return out

    # --- out -------------------------------------------------------------------------------------------
    def outbound(self, text: str) -> str:
        """The whole answer as the user sees it: placeholders restored, guard applied."""
        if self._pseudonymiser is not None:
            text = self._pseudonymiser.restore(text)
        if self._guard(text, "output") and self.policy.content_guard == ContentGuardPolicy.BLOCK:
            self.replaced = True
            return REFUSAL
        return text

    def stream(self) -> StreamFilter:
        return StreamFilter(self)

    # --- guard -----------------------------------------------------------------------------------------
    def _guard(self, text: str, where: Literal["input", "output"]) -> bool:
        """True when the guard finds the text offensive; the verdict goes to the report."""
        if not text.strip():
            return False
        from rathaus.safety import guard

        result = guard.check(text, threshold=self.policy.guard_threshold)
        offensive = result.label == "offensive"
        self.report[f"guard_{where}"] = {"label": result.label, "score": round(float(result.score), 4),
                                         "threshold": result.threshold}
        if offensive and self.policy.content_guard == ContentGuardPolicy.WARN:
            self.warnings.append(f"content-guard:{where}")
        return offensive


class StreamFilter:
    """Deltas in, text for the user out: placeholders restored across chunk borders; in ``block`` mode the text
    is held back to the next sentence end and released only when the guard passes everything so far."""

    def __init__(self, safety: RequestSafety):
        self.safety = safety
        self.blocking = safety.policy.content_guard == ContentGuardPolicy.BLOCK
        self._restorer: StreamRestorer | None = (safety._pseudonymiser.restorer()
                                                 if safety._pseudonymiser is not None else None)
        self.shown = ""  # released to the user
        self._held = ""  # restored, not yet released
        self.stopped = False

    def feed(self, delta: str) -> str:
        """Text to release now ("" while held back). After a block, :attr:`stopped` is True."""
        if self.stopped:
            return ""
        text = self._restorer.feed(delta) if self._restorer is not None else delta
        if not self.blocking:
            self.shown += text
            return text
        self._held += text
        cut = max((m.end() for m in _SENTENCE_END.finditer(self._held)), default=0)
        if not cut:
            return ""
        return self._release(cut)

    def finish(self) -> tuple[str, str]:
        """(text still to release, final text for the record). The final text is the refusal after a block."""
        if self.stopped:
            return "", REFUSAL
        tail = self._restorer.flush() if self._restorer is not None else ""
        if not self.blocking:
            self.shown += tail
            self.safety._guard(self.shown, "output")  # warn/log: the verdict goes to the report, the text stays
            return tail, self.shown
        self._held += tail
        rest = self._release(len(self._held))
        return ("", REFUSAL) if self.stopped else (rest, self.shown)

    def _release(self, cut: int) -> str:
        candidate = self.shown + self._held[:cut]
        if candidate.strip() and self.safety._guard(candidate, "output"):
            self.stopped = True
            self.safety.replaced = True
            return ""
        released, self._held = self._held[:cut], self._held[cut:]
        self.shown += released
        return released
