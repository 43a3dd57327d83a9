"""Personal data in German text: detection and per-session pseudonymisation (``rathaus.safety.pii``).

    from rathaus.safety.pii import detect, contains_pii, Pseudonymiser

    spans = detect("Frau Dr. Anna-Lena Meier, Leopoldstr. 12a, 80331 München")
    p = Pseudonymiser()                      # one per request or chat session
    safe = p.pseudonymise(user_text)         # "[PERSON_1] …" — send this to the model
    answer = p.restore(model_answer)         # names back for the user
    p.found                                  # {"PERSON": 2, ...} — counts only, for the audit log

See docs/safety-pii.md for what is detected, how, and the limits.
"""

from rathaus.safety.pii.detection import MAX_CHARS, contains_pii, detect
from rathaus.safety.pii.kinds import ALL_KINDS, DEFAULT_PSEUDONYMISE_KINDS, KIND_DESCRIPTIONS, PiiSpan
from rathaus.safety.pii.pseudonymise import Pseudonymiser, StreamRestorer

__all__ = ["ALL_KINDS", "DEFAULT_PSEUDONYMISE_KINDS", "KIND_DESCRIPTIONS", "MAX_CHARS", "PiiSpan", "Pseudonymiser",
           "StreamRestorer", "contains_pii", "detect"]
