"""Errors that carry what a user needs: an HTTP status, a stable problem type and one readable line.

The API renders them as RFC 9457 problem+json, the CLI as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://rathaus.example/problems/"


class RathausError(Exception):
    status: int = 500
    code: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.code

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(RathausError):
    status, code, title = 400, "bad-request", "Bad request"


class ContextLengthExceeded(BadRequest):
    code, title = "context-length-exceeded", "Prompt longer than the model's context"


class PayloadTooLarge(RathausError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(RathausError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class Unauthenticated(RathausError):
    status, code, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str, **kw: Any):
        super().__init__(detail, **kw)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="rathaus"')


class Forbidden(RathausError):
    status, code, title = 403, "forbidden", "Forbidden"


class DataClassNotAllowed(Forbidden):
    code, title = "data-class-not-allowed", "Model not cleared for this data class"


class PersonalDataBlocked(Forbidden):
    code, title = "personal-data-blocked", "Personal data may not go to this model"


class ContentRefused(RathausError):
    status, code, title = 422, "content-refused", "Refused by the content guard"


class NotFound(RathausError):
    status, code, title = 404, "not-found", "Not found"


class UnknownModel(NotFound):
    code, title = "unknown-model", "Unknown model"


class Conflict(RathausError):
    status, code, title = 409, "conflict", "Conflict"


class BudgetExhausted(RathausError):
    status, code, title = 429, "budget-exhausted", "Monthly budget exhausted"


class ModelBusy(RathausError):
    """Every slot of a model is taken and its queue is full, or the wait was too long (rathaus.models.admission)."""

    status, code, title = 429, "model-busy", "Model busy"


class ModelUnavailable(RathausError):
    status, code, title = 503, "model-unavailable", "Model unavailable"


class DatabaseUnavailable(RathausError):
    status, code, title = 503, "database-unavailable", "Database unavailable"


class StorageFull(RathausError):
    """A disk rathaus writes to is full (ENOSPC, EDQUOT): nothing was written."""

    status, code, title = 507, "storage-full", "Insufficient storage"


class DatabaseStorageFull(StorageFull):
    """The database server's disk is full (SQLSTATE 53100): the transaction was rolled back; retry later."""

    status = 503


class StorageReadOnly(RathausError):
    """A directory rathaus writes to is read-only or not writable for it (EROFS, EACCES, EPERM): nothing was written."""

    status, code, title = 503, "storage-read-only", "Storage not writable"


class IdentityProviderUnavailable(RathausError):
    status, code, title = 503, "identity-provider-unavailable", "Identity provider unavailable"


class ConfigError(RathausError):
    status, code, title = 500, "configuration-error", "Configuration error"


class UpstreamError(RathausError):
    status, code, title = 502, "upstream-error", "Model server error"
