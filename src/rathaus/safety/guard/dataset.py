"""GermEval 2018 files (text<TAB>OFFENSE|OTHER<TAB>fine label), GermEval 2021 files (CSV with ``comment_text`` and
``Sub1_Toxic``) and the fixed held-out split of the guard (one per source: seed 2018 and seed 2021).

The held-out split is made once, before any training or tuning: 20 % of each coarse class, drawn with
numpy's PCG64 generator seeded with ``SPLIT_SEED``. Training, cross-validation and threshold choice only ever
see the other 80 %; the benchmark and the documented figures use the 20 %. The split depends on nothing but
the file's line order and the seed, so it is the same on every machine and with every scikit-learn version.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rathaus.core.errors import BadRequest, NotFound

COARSE = ("OTHER", "OFFENSE")
FINE = ("OTHER", "ABUSE", "INSULT", "PROFANITY")
SPLIT_SEED = 2018
SPLIT_SEED_2021 = 2021
HELDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Example:
    text: str
    offensive: bool
    fine: str


def _read_text(path: Path, encoding: str) -> str:
    """The file's text, or one readable error (missing, not UTF-8)."""
    if not path.is_file():
        raise NotFound(f"no such file: {path}")
    try:
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path.name}: not UTF-8 (byte {exc.start})") from None


def read_germeval(path: Path) -> list[Example]:
    """Read a GermEval 2018 file (no quoting: quotes are part of the tweets); one readable error per problem."""
    path = Path(path)
    content = _read_text(path, "utf-8")
    examples: list[Example] = []
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise BadRequest(f"{path.name}:{number}: expected text<TAB>OFFENSE|OTHER<TAB>fine label")
        coarse = parts[1].strip()
        if coarse not in COARSE:
            raise BadRequest(f"{path.name}:{number}: label must be OFFENSE or OTHER, not {coarse[:20]!r}")
        fine = parts[2].strip() if len(parts) > 2 else coarse
        examples.append(Example(parts[0], coarse == "OFFENSE", fine))
    if not examples:
        raise BadRequest(f"{path.name} has no examples")
    return examples


def read_germeval2021(path: Path) -> list[Example]:
    """Read the GermEval 2021 CSV (``comment_text``, ``Sub1_Toxic`` 0/1); toxic counts as offensive."""
    path = Path(path)
    content = _read_text(path, "utf-8-sig")
    reader = csv.DictReader(io.StringIO(content))
    if not {"comment_text", "Sub1_Toxic"} <= set(reader.fieldnames or ()):
        raise BadRequest(f"{path.name}: expected the columns comment_text and Sub1_Toxic (GermEval 2021)")
    examples = []
    for row in reader:
        label = (row["Sub1_Toxic"] or "").strip()
        if label not in ("0", "1"):
            raise BadRequest(f"{path.name}:{reader.line_num}: Sub1_Toxic must be 0 or 1, not {label[:20]!r}")
        examples.append(Example(row["comment_text"] or "", label == "1", "TOXIC" if label == "1" else "OTHER"))
    if not examples:
        raise BadRequest(f"{path.name} has no examples")
    return examples


def heldout_split(examples: list[Example], fraction: float = HELDOUT_FRACTION,
                  seed: int = SPLIT_SEED) -> tuple[list[int], list[int]]:
    """Indices (train, held-out): a stratified ``fraction`` per coarse class, deterministic for ``seed``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    heldout: list[int] = []
    for label in (False, True):
        members = np.array([i for i, e in enumerate(examples) if e.offensive is label], dtype=np.int64)
        rng.shuffle(members)
        heldout += members[: round(len(members) * fraction)].tolist()
    held = set(heldout)
    return [i for i in range(len(examples)) if i not in held], sorted(heldout)
