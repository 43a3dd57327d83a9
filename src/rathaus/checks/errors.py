"""The application checks' problems: each a stable problem type (problem+json ``type``) and one readable line."""

from __future__ import annotations

from rathaus.core.errors import BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType


class NoFiles(BadRequest):
    code, title = "checks-no-files", "No files in the packet"


class EmptyFile(BadRequest):
    code, title = "checks-empty-file", "Empty file"


class TooManyFiles(BadRequest):
    code, title = "checks-too-many-files", "Too many files"


class FileTooLarge(PayloadTooLarge):
    code, title = "checks-file-too-large", "File too large"


class UnsupportedFile(UnsupportedMediaType):
    code, title = "checks-unsupported-file", "Unsupported file"


class UnknownType(BadRequest):
    code, title = "checks-unknown-type", "Unknown application type"


class TypeRequired(BadRequest):
    code, title = "checks-type-required", "Application type required"


class BadFormData(BadRequest):
    code, title = "checks-bad-form-data", "Form data not readable"


class NotChecked(Conflict):
    code, title = "checks-not-checked", "Packet not checked yet"


class AlreadyConfirmed(Conflict):
    code, title = "checks-already-confirmed", "Result already confirmed"
