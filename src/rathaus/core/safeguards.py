"""The vocabulary of the safeguards every model call carries: what happens to personal data and what the content
guard does. The enums live in core because the settings need them; ``rathaus.safety.policy.SafetyPolicy`` (one
assistant's or request's policy) and ``rathaus.models.safeguards`` use them. See rathaus.safety.policy for what each
value does.
"""

from __future__ import annotations

from enum import StrEnum


class PersonalDataPolicy(StrEnum):
    """Personal data in a prompt for a model that is not cleared for the data class ``personenbezogen``."""

    PSEUDONYMISE = "pseudonymise"  # placeholders out, the real values restored in the answer
    BLOCK = "block"  # the request is refused
    ALLOW = "allow"  # sent as it is (public, non-personal use)


class ContentGuardPolicy(StrEnum):
    """What happens when the content guard finds offensive text in the input or the answer."""

    BLOCK = "block"  # input refused, answer replaced by a respectful refusal
    WARN = "warn"  # passed on, flagged to the user and the audit log
    LOG = "log"  # only the audit log
