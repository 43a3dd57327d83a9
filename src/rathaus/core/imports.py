"""One import framework for every capability that reads files row by row (traffic counts, the library's
catalogue, loans and searches, and the capabilities to come).

* ``RowProblem``: a problem with one line (1 = the header line) or one record (record-based formats such as
  MARC21), the column it is in, a reason in German and English, and – only where the value is not personal –
  the value itself. ``str(problem)`` is the line the CLI prints, ``as_dict()`` what the API returns and the
  import's batch row stores.
* ``ProblemList``: the problems of one file while it is read; at most ``MAX_PROBLEMS`` are kept, all are counted.
* ``ImportReport``: the figures every import has (rows read, stored, unchanged, rejected), its problems and
  ``as_dict()`` for the API; a capability subclasses it with its own figures and summary line.
* ``UnreadableFile``: the one error (422) for a file that cannot be read at all; nothing is stored then.
  A capability subclasses it with its own problem type.
* ``refuse`` / ``raise_if_fatal``: problems so bad that the whole file must be refused become one
  ``ImportRefused`` error whose problem+json body lists them (``problems``, ``problems_total``).

The CLI's rendering of a report is ``rathaus.commands.common.print_import_report``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from rathaus.core.errors import RathausError

MAX_PROBLEMS = 1000  # kept per file (and shown in an API answer); the total is always counted
MAX_REFUSAL_PROBLEMS = 50  # listed in the problem+json body of a refused file


@dataclass(frozen=True)
class RowProblem:
    """A problem with one line (1 = header; None = the whole file) or one record (then ``record`` is set)."""

    line: int | None
    column: str | None
    reason: str
    record: int | None = None
    value: str | None = None  # the offending value, only where it is not personal data; rendered only when set
    fatal: bool = False  # the whole file must be refused (see ``raise_if_fatal``); rendered only when set

    #: the key of ``column`` in ``as_dict()`` (a capability whose API has always said "field" overrides it)
    column_key: ClassVar[str] = "column"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line} if self.record is None else {"record": self.record}
        out |= {self.column_key: self.column, "reason": self.reason}
        if self.value is not None:
            out["value"] = self.value
        if self.fatal:
            out["fatal"] = True
        return out

    def sort_key(self) -> tuple[int, str]:
        return (self.record or self.line or 0, self.column or "")

    def __str__(self) -> str:
        where = (f"Datensatz/record {self.record}" if self.record is not None else
                 f"Zeile/line {self.line}" if self.line else "Datei/file")
        return f"{where}{f', {self.column}' if self.column else ''}: {self.reason}"


@dataclass
class ProblemList:
    """Problems of one file, kept up to ``MAX_PROBLEMS`` in the order found (the total is always counted)."""

    problem_type: type[RowProblem] = RowProblem
    items: list[RowProblem] = field(default_factory=list)
    total: int = 0

    def add(self, line: int | None, column: str | None, reason: str, *, record: int | None = None,
            value: str | None = None, fatal: bool = False) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(self.problem_type(line, column, reason, record, value, fatal))

    def add_many(self, lines: Iterable[Any], column: str | None, reason: str | Iterable[str]) -> None:
        """One problem per line (numpy/pandas integers are fine); ``reason`` is one text or one per line."""
        lines = list(lines)
        reasons = [reason] * len(lines) if isinstance(reason, str) else list(reason)
        room = max(0, MAX_PROBLEMS - len(self.items))
        self.items.extend(self.problem_type(int(ln), column, r)
                          for ln, r in zip(lines[:room], reasons[:room], strict=True))
        self.total += len(lines)

    def first(self, limit: int = MAX_PROBLEMS) -> list[RowProblem]:
        """The kept problems in file order (line or record, then column), at most ``limit``."""
        return sorted(self.items, key=RowProblem.sort_key)[:limit]

    @property
    def fatal(self) -> list[RowProblem]:
        return [p for p in self.items if p.fatal]


@dataclass(kw_only=True)
class ImportReport:
    """What one import did; ``rows_read`` counts data lines or records, the other figures what the capability
    stores (values, items, loans …). A capability subclasses it with its own figures."""

    import_id: int | None = None
    file_name: str
    sha256: str
    kind: str
    encoding: str | None = None
    delimiter: str | None = None
    rows_read: int = 0
    stored: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problems_total: int = 0
    seconds: float = 0.0

    def take_problems(self, problems: ProblemList | Iterable[RowProblem], total: int | None = None) -> None:
        """Keep the first ``MAX_PROBLEMS`` in file order; ``problems_total`` counts them all."""
        if isinstance(problems, ProblemList):
            self.problems, self.problems_total = problems.first(), problems.total
        else:
            kept = list(problems)
            self.problems = sorted(kept, key=RowProblem.sort_key)[:MAX_PROBLEMS]
            self.problems_total = len(kept) if total is None else total

    def problem_dicts(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems]

    def as_dict(self) -> dict[str, Any]:
        """The report as the API returns it."""
        out = asdict(self)
        out["problems"] = self.problem_dicts()
        return out

    def summary_line(self) -> str:
        return (f"{self.file_name}: {self.kind}, {self.rows_read} Zeilen/lines – gespeichert/stored {self.stored}, "
                f"unverändert/unchanged {self.unchanged}, abgelehnt/rejected {self.rejected}")

    @property
    def fatal(self) -> list[RowProblem]:
        return [p for p in self.problems if p.fatal]


class UnreadableFile(RathausError):
    """The file cannot be read at all (not text, empty, not the expected kind); nothing was stored (HTTP 422)."""

    status, code, title = 422, "unreadable-file", "Not a readable file"


class ImportRefused(UnreadableFile):
    """The file was read, but its problems are so bad that nothing of it may be stored (HTTP 422); the
    problem+json body lists them."""

    code, title = "import-refused", "File refused"


def refuse(detail: str, problems: Iterable[RowProblem], total: int | None = None, *,
           error: type[RathausError] = ImportRefused) -> RathausError:
    """The error to raise for a refused file: ``detail`` plus ``problems`` (at most ``MAX_REFUSAL_PROBLEMS``,
    as ``as_dict()``) and ``problems_total`` in its problem+json body."""
    listed = sorted(problems, key=RowProblem.sort_key)
    return error(detail, extra={"problems": [p.as_dict() for p in listed[:MAX_REFUSAL_PROBLEMS]],
                                "problems_total": len(listed) if total is None else total})


def raise_if_fatal(source: ImportReport | ProblemList, name: str) -> None:
    """Raise ``ImportRefused`` naming the first fatal problem when ``source`` has any (else do nothing)."""
    fatal = source.fatal
    if fatal:
        first = min(fatal, key=RowProblem.sort_key)
        more = f" (+{len(fatal) - 1} weitere / more)" if len(fatal) > 1 else ""
        raise refuse(f"{name}: Datei abgelehnt / file refused – {first}{more}", fatal)
