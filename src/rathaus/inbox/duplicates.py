"""Duplicate and related-message detection, and threads grouped into cases.

Three signals, each answering a different question a case worker has:

* **duplicate** – a near-identical text (the same mail sent twice, a form submitted again, a copy to another
  mailbox): MinHash LSH (``datasketch``) over word shingles finds candidates in sub-linear time; the estimated
  Jaccard similarity of the shingle sets is the score.
* **related** – the same issue in other words ("the same issue reported by many"): cosine similarity of sentence
  embeddings (any ``embed(texts) -> matrix``, e.g. the gateway's default embedder), or a lower Jaccard.
* **same_sender** – the same person writing again: the same normalised e-mail address, or a shared case number,
  within ``sender_days``.

    index = DuplicateIndex(embed=embed)
    index.add("m1", text, sender="a@example.org", case_numbers=["WG-2026/0815"], received_at=when)
    index.query(text2, sender=..., exclude_id="m2")   # -> [Match(id="m1", score=0.93, kind="duplicate", ...)]
    index.groups()                                     # union-find over duplicate links and In-Reply-To

Thresholds are parameters (:class:`Thresholds`); :func:`calibrate` picks the "same request" thresholds that
maximise F1 on labelled pairs (a tuning split); the defaults are those it chose in ``bench/inbox_duplicates.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np
from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]
from threadpoolctl import ThreadpoolController

Kind = Literal["duplicate", "related", "same_sender"]
Embed = Callable[[list[str]], np.ndarray]
_TOKEN = re.compile(r"\w+", re.UNICODE)
_KIND_RANK = {"duplicate": 0, "related": 1, "same_sender": 2}


@dataclass(frozen=True)
class Thresholds:
    """``duplicate_*``: near-identical text. ``related_*``: the same request in other words. A pair is related when
    either related threshold is met (a threshold above 1 switches that signal off).

    The related defaults are those :func:`calibrate` chose on the tuning half of the official-FAQ paraphrase pairs
    (``bench/inbox_duplicates.py``: short questions, USE multilingual embeddings); with another embedder or much
    longer messages, calibrate again. The duplicate defaults are set by hand (no labelled near-copies)."""

    duplicate_jaccard: float = 0.7
    duplicate_cosine: float = 0.97
    related_jaccard: float = 0.3
    related_cosine: float = 0.37

    def __post_init__(self) -> None:
        for name in ("duplicate_jaccard", "duplicate_cosine", "related_jaccard", "related_cosine"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.01:
                raise ValueError(f"threshold {name} must be in (0, 1] (above 1 switches it off), got {value}")


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    kind: Kind
    reason: str


@dataclass
class IndexRecord:
    """A stored message as the index needs it (what :meth:`DuplicateIndex.build` reads)."""

    id: str
    text: str
    vector: np.ndarray | None = None
    sender: str | None = None
    case_numbers: Sequence[str] = ()
    received_at: dt.datetime | None = None
    message_id: str | None = None
    in_reply_to: Sequence[str] = ()


def normalise_address(address: str | None) -> str | None:
    """Lower case, without display name and without a ``+tag`` ("Erika <E.M+wg@x.org>" -> "e.m@x.org")."""
    if not address or "@" not in address:
        return None
    found = re.search(r"[^\s<>\"']+@[^\s<>\"']+", address)
    if not found:
        return None
    local, _, domain = found.group().strip(".,;").lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def shingles(text: str, size: int = 3) -> set[str]:
    """Word ``size``-grams of the lower-cased text; a text shorter than ``size`` words is one shingle."""
    if size < 1:
        raise ValueError("shingle size must be at least 1")
    tokens = _TOKEN.findall(text.lower())
    if not tokens:
        return set()
    if len(tokens) < size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def minhash(text: str, *, size: int = 3, num_perm: int = 128) -> MinHash:
    m = MinHash(num_perm=num_perm)
    m.update_batch([s.encode("utf-8") for s in shingles(text, size)])
    return m


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread() -> AbstractContextManager[object]:
    """One matrix-vector product is memory-bound: BLAS threads only add hand-over cost, and on a loaded 2-core
    machine they made it 10x slower (8 ms instead of 0.7 ms for 10,000 x 512)."""
    return _blas().limit(limits=1, user_api="blas")


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class _Entry:
    minhash: MinHash | None  # None: no words, never a duplicate
    row: int | None
    sender: str | None
    case_numbers: frozenset[str]
    received_at: dt.datetime | None


class DuplicateIndex:
    """In-memory index of stored messages; build it at start from the store, then :meth:`add` each new message."""

    def __init__(self, *, thresholds: Thresholds | None = None, embed: Embed | None = None, shingle_size: int = 3,
                 num_perm: int = 128, sender_days: int | None = 365) -> None:
        self.thresholds = thresholds or Thresholds()
        self.embed = embed
        self.shingle_size = shingle_size
        self.num_perm = num_perm
        self.sender_days = sender_days
        lsh_threshold = min(self.thresholds.duplicate_jaccard, self.thresholds.related_jaccard, 1.0)
        self._lsh = MinHashLSH(threshold=max(lsh_threshold, 0.05), num_perm=num_perm)
        self._entries: dict[str, _Entry] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._row_ids: list[str | None] = []
        self._by_sender: dict[str, set[str]] = {}
        self._by_case: dict[str, set[str]] = {}
        self._by_message_id: dict[str, str] = {}
        self._pending_replies: dict[str, set[str]] = {}
        self._threads = _UnionFind()
        self._template: MinHash | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, id: object) -> bool:
        return id in self._entries

    @classmethod
    def build(cls, records: Iterable[IndexRecord], **options: object) -> DuplicateIndex:
        """An index over stored messages (duplicate links and reply links grouped as they are added)."""
        index = cls(**options)  # type: ignore[arg-type]
        for r in records:
            index.add(r.id, r.text, r.vector, sender=r.sender, case_numbers=r.case_numbers,
                      received_at=r.received_at, message_id=r.message_id, in_reply_to=r.in_reply_to)
        return index

    def _hash(self, text: str) -> MinHash | None:
        """None for a text without words: it is nobody's duplicate."""
        found = shingles(text, self.shingle_size)
        if not found:
            return None
        if self._template is None:
            self._template = MinHash(num_perm=self.num_perm)
        # the template's permutations (same seed, same scheme): drawing them anew was a third of the cost
        m = MinHash(num_perm=self.num_perm, permutations=self._template.permutations, scheme=self._template.scheme)
        m.update_batch([s.encode("utf-8") for s in found])
        return m

    # ------------------------------------------------------------------------------------------- vectors
    def _vector(self, text: str, vector: np.ndarray | None) -> np.ndarray | None:
        if vector is None and self.embed is not None and text.strip():
            vector = np.asarray(self.embed([text]))[0]
        return None if vector is None else _unit(vector)

    def _store_vector(self, id: str, v: np.ndarray) -> int:
        rows = len(self._row_ids)
        if self._vectors.shape[1] == 0:
            self._vectors = np.zeros((64, v.shape[0]), dtype=np.float32)
        elif v.shape[0] != self._vectors.shape[1]:
            raise ValueError(f"vector of {v.shape[0]} dimensions; the index holds {self._vectors.shape[1]}")
        if rows == self._vectors.shape[0]:
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
        self._vectors[rows] = v
        self._row_ids.append(id)
        return rows

    # ----------------------------------------------------------------------------------------------- add
    def add(self, id: str, text: str, vector: np.ndarray | None = None, *, sender: str | None = None,
            case_numbers: Sequence[str] = (), received_at: dt.datetime | None = None, message_id: str | None = None,
            in_reply_to: str | Sequence[str] | None = None, link: bool = True) -> list[Match]:
        """Add one message; returns what it matches among the messages already indexed (so the caller need not
        query separately). Duplicate matches and reply links join its thread (``link=False``: do not join)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        if id in self._entries:
            raise ValueError(f"message {id!r} is already in the duplicate index")
        v = self._vector(text, vector)
        sender_key = normalise_address(sender)
        cases = frozenset(c.strip().upper() for c in case_numbers if c and c.strip())
        m = self._hash(text)
        matches = self._query(m, v, sender_key, cases, received_at, exclude_id=None, limit=None)
        row = self._store_vector(id, v) if v is not None else None
        self._entries[id] = _Entry(m, row, sender_key, cases, received_at)
        if m is not None:
            self._lsh.insert(id, m)
        if sender_key:
            self._by_sender.setdefault(sender_key, set()).add(id)
        for c in cases:
            self._by_case.setdefault(c, set()).add(id)
        self._threads.find(id)
        if link:
            for match in matches:
                if match.kind == "duplicate":
                    self._threads.union(id, match.id)
        self._link_replies(id, message_id, in_reply_to)
        return matches

    def _link_replies(self, id: str, message_id: str | None, in_reply_to: str | Sequence[str] | None) -> None:
        parents = [in_reply_to] if isinstance(in_reply_to, str) else list(in_reply_to or ())
        for parent in parents:
            key = parent.strip().strip("<>")
            if key in self._by_message_id:
                self._threads.union(id, self._by_message_id[key])
            else:  # the message it answers may be indexed later
                self._pending_replies.setdefault(key, set()).add(id)
        if message_id:
            key = message_id.strip().strip("<>")
            self._by_message_id[key] = id
            for child in self._pending_replies.pop(key, set()):
                self._threads.union(id, child)

    def remove(self, id: str) -> None:
        """Forget a message (retention, deletion); its thread links stay until the index is rebuilt."""
        entry = self._entries.pop(id, None)
        if entry is None:
            return
        if entry.minhash is not None:
            self._lsh.remove(id)
        if entry.row is not None:
            self._row_ids[entry.row] = None
            self._vectors[entry.row] = 0.0
        if entry.sender:
            self._by_sender.get(entry.sender, set()).discard(id)
        for c in entry.case_numbers:
            self._by_case.get(c, set()).discard(id)

    # --------------------------------------------------------------------------------------------- query
    def query(self, text: str, vector: np.ndarray | None = None, *, sender: str | None = None,
              case_numbers: Sequence[str] = (), received_at: dt.datetime | None = None, exclude_id: str | None = None,
              limit: int | None = 20) -> list[Match]:
        """Indexed messages like this one, strongest kind first (duplicate, related, same_sender), then score.
        One match per message: its strongest kind; ``reason`` names every signal that fired."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        m = self._hash(text)
        cases = frozenset(c.strip().upper() for c in case_numbers if c and c.strip())
        return self._query(m, self._vector(text, vector), normalise_address(sender), cases, received_at,
                           exclude_id=exclude_id, limit=limit)

    def _query(self, m: MinHash | None, v: np.ndarray | None, sender: str | None, cases: frozenset[str],
               received_at: dt.datetime | None, *, exclude_id: str | None, limit: int | None) -> list[Match]:
        t = self.thresholds
        found: dict[str, list[tuple[Kind, float, str]]] = {}
        if self._entries and m is not None:
            for other in self._lsh.query(m):
                other_hash = self._entries[other].minhash
                jaccard = float(m.jaccard(other_hash)) if other_hash is not None else 0.0
                if jaccard >= t.duplicate_jaccard:
                    found.setdefault(other, []).append(("duplicate", jaccard, f"Text zu {jaccard:.0%} gleich "
                                                                             f"(MinHash-Jaccard {jaccard:.2f})"))
                elif jaccard >= t.related_jaccard:
                    found.setdefault(other, []).append(("related", jaccard, f"ähnlicher Wortlaut "
                                                                           f"(MinHash-Jaccard {jaccard:.2f})"))
        if v is not None and self._row_ids:
            with _one_blas_thread():
                sims = self._vectors[:len(self._row_ids)] @ v
            low = min(t.related_cosine, t.duplicate_cosine)
            for row in np.flatnonzero(sims >= low):
                other_id = self._row_ids[int(row)]
                if other_id is None:
                    continue
                cos = float(sims[row])
                kind: Kind = "duplicate" if cos >= t.duplicate_cosine else "related"
                found.setdefault(other_id, []).append((kind, cos, f"gleiches Anliegen (Kosinus {cos:.2f})"))
        for other_id, why in self._same_sender(sender, cases, received_at):
            found.setdefault(other_id, []).append(("same_sender", 1.0, why))
        matches = []
        for other_id, signals in found.items():
            if other_id == exclude_id or other_id not in self._entries:
                continue
            signals.sort(key=lambda s: (_KIND_RANK[s[0]], -s[1]))
            kind, score, _ = signals[0]
            reason = "; ".join(dict.fromkeys(s[2] for s in signals))
            matches.append(Match(other_id, round(score, 4), kind, reason))
        matches.sort(key=lambda x: (_KIND_RANK[x.kind], -x.score, x.id))
        return matches if limit is None else matches[:limit]

    def _same_sender(self, sender: str | None, cases: frozenset[str],
                     received_at: dt.datetime | None) -> list[tuple[str, str]]:
        hits: list[tuple[str, str]] = []
        if sender:
            hits += [(i, f"gleiche Absenderadresse ({sender})") for i in sorted(self._by_sender.get(sender, ()))]
        for c in sorted(cases):
            hits += [(i, f"gleiches Aktenzeichen ({c})") for i in sorted(self._by_case.get(c, ()))]
        if self.sender_days is None or received_at is None:
            return hits
        window = dt.timedelta(days=self.sender_days)
        kept = []
        for i, why in hits:
            other = self._entries[i].received_at
            if other is None or abs(_naive(other) - _naive(received_at)) <= window:
                kept.append((i, why))
        return kept

    # ------------------------------------------------------------------------------------------- threads
    def group_of(self, id: str) -> list[str]:
        """All indexed messages in the same case/thread as ``id`` (itself included), sorted."""
        if id not in self._entries:
            raise KeyError(f"message {id!r} is not in the duplicate index")
        root = self._threads.find(id)
        return sorted(i for i in self._entries if self._threads.find(i) == root)

    def groups(self, *, min_size: int = 2) -> list[list[str]]:
        """Cases: connected components of duplicate links and reply links, largest first."""
        by_root: dict[str, list[str]] = {}
        for i in self._entries:
            by_root.setdefault(self._threads.find(i), []).append(i)
        out = [sorted(g) for g in by_root.values() if len(g) >= min_size]
        return sorted(out, key=lambda g: (-len(g), g[0]))


def _naive(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


# ------------------------------------------------------------------------------------------- calibration
@dataclass
class Calibration:
    thresholds: Thresholds
    precision: float
    recall: float
    f1: float
    pairs: int
    grid: list[tuple[float, float, float]] = field(default_factory=list)  # (related_jaccard, related_cosine, f1)


def pair_scores(texts_a: Sequence[str], texts_b: Sequence[str], vectors_a: np.ndarray | None = None,
                vectors_b: np.ndarray | None = None, *, shingle_size: int = 3,
                num_perm: int = 128) -> tuple[np.ndarray, np.ndarray | None]:
    """MinHash-estimated Jaccard and (if vectors are given) cosine of each pair (a[i], b[i])."""
    if len(texts_a) != len(texts_b):
        raise ValueError(f"{len(texts_a)} texts a but {len(texts_b)} texts b")
    jac = np.array([minhash(a, size=shingle_size, num_perm=num_perm).jaccard(
        minhash(b, size=shingle_size, num_perm=num_perm)) for a, b in zip(texts_a, texts_b, strict=True)])
    if vectors_a is None or vectors_b is None:
        return jac, None
    va = np.asarray(vectors_a, dtype=np.float32)
    vb = np.asarray(vectors_b, dtype=np.float32)
    va = va / np.maximum(np.linalg.norm(va, axis=1, keepdims=True), 1e-12)
    vb = vb / np.maximum(np.linalg.norm(vb, axis=1, keepdims=True), 1e-12)
    return jac, np.sum(va * vb, axis=1)


def prf(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 of boolean predictions against 0/1 labels (0.0 where undefined)."""
    pred = np.asarray(predicted, dtype=bool)
    gold = np.asarray(labels, dtype=bool)
    tp = int(np.sum(pred & gold))
    p = tp / int(pred.sum()) if pred.sum() else 0.0
    r = tp / int(gold.sum()) if gold.sum() else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold on one score (pair is "same" when score >= threshold) with the best F1 on these pairs, and
    that F1; ties go to the higher threshold (fewer false alarms)."""
    best = (1.01, 0.0)
    for th in sorted({round(float(s), 4) for s in scores}, reverse=True):
        f1 = prf(scores >= th, labels)[2]
        if f1 > best[1]:
            best = (th, f1)
    return best


def calibrate(labels: Sequence[int], jaccard: np.ndarray, cosine: np.ndarray | None = None, *,
              base: Thresholds | None = None) -> Calibration:
    """Choose ``related_jaccard`` and ``related_cosine`` (pair related when either is met) maximising F1 on
    labelled pairs (1 = same request). Use a tuning split only, and report on another."""
    y = np.asarray(labels, dtype=int)
    if len(y) != len(jaccard) or (cosine is not None and len(cosine) != len(y)):
        raise ValueError("labels and scores must have one entry per pair")
    if not len(y) or y.min() == y.max():
        raise ValueError("calibration needs pairs of both labels (same and different)")
    base = base or Thresholds()
    j_grid = [round(x, 2) for x in np.arange(0.05, 1.0, 0.05)] + [1.01]
    c_grid = [round(x, 2) for x in np.arange(0.30, 1.0, 0.01)] + [1.01] if cosine is not None else [1.01]
    grid: list[tuple[float, float, float]] = []
    best = (0.0, 1.01, 1.01)
    for tj in j_grid:
        for tc in c_grid:
            pred = jaccard >= tj
            if cosine is not None:
                pred = pred | (cosine >= tc)
            f1 = prf(pred, y)[2]
            grid.append((tj, tc, f1))
            if f1 > best[0]:
                best = (f1, tj, tc)
    _, tj, tc = best
    pred = (jaccard >= tj) | ((cosine >= tc) if cosine is not None else False)
    p, r, f1 = prf(np.asarray(pred), y)
    thresholds = Thresholds(duplicate_jaccard=max(base.duplicate_jaccard, tj), duplicate_cosine=max(
        base.duplicate_cosine, min(tc, 1.01)), related_jaccard=tj, related_cosine=tc)
    return Calibration(thresholds, p, r, f1, len(y), grid)
