"""What the safeguards do for one assistant or request: the policy every model call carries.

- ``personal_data``: what happens to personal data in a prompt for a model that is *not* cleared for the data
  class ``personenbezogen`` (e.g. a cloud model): ``pseudonymise`` (placeholders out, real values restored in
  the answer), ``block`` (the request is refused) or ``allow`` (sent as it is; for public, non-personal use).
  Models cleared for personal data (the embedded one) get the text unchanged.
- ``content_guard``: what happens when the content guard finds offensive, discriminatory, misanthropic or
  anti-democratic text in the input or the answer: ``block`` (input refused, answer replaced by a respectful
  refusal), ``warn`` (passed on, flagged to the user and the audit log) or ``log`` (only the audit log).
  The values are the enums of rathaus.core.safeguards (``PersonalDataPolicy``, ``ContentGuardPolicy``).
- ``guard_threshold``: the guard's decision threshold (``None``: the shipped default; see docs/safety-guard.md
  for its precision/recall trade-off).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rathaus.core.safeguards import ContentGuardPolicy, PersonalDataPolicy


class SafetyPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personal_data: PersonalDataPolicy = PersonalDataPolicy.PSEUDONYMISE
    content_guard: ContentGuardPolicy = ContentGuardPolicy.BLOCK
    guard_threshold: float | None = Field(default=None, gt=0, lt=1)
