"""Safeguards applied by the model gateway: personal-data pseudonymisation (``pii``), the content guard
(``guard``) and prompt-injection handling (``injection``)."""
