"""Reader × item interaction matrices: built from (reader, item) pairs or from ``reader<TAB>item`` files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp


@dataclass
class Interactions:
    """Binary readers × items matrix (float32, 1.0 per interaction) with the ids of its rows and columns."""

    matrix: sp.csr_matrix
    readers: list[str]
    items: list[str]
    reader_index: dict[str, int] = field(init=False, repr=False)
    item_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reader_index = {r: i for i, r in enumerate(self.readers)}
        self.item_index = {t: i for i, t in enumerate(self.items)}

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], items: Sequence[str] | None = None) -> Interactions:
        """Build the matrix; ``items`` fixes the catalogue (and its order, items without loans included) — a pair
        naming an item outside it raises ``ValueError``. Without ``items`` the columns are the items seen, in order
        of first appearance. Duplicate pairs collapse to one interaction."""
        readers: dict[str, int] = {}
        catalogue: dict[str, int] = {t: i for i, t in enumerate(items)} if items is not None else {}
        rows: list[int] = []
        cols: list[int] = []
        for reader, item in pairs:
            if item not in catalogue:
                if items is not None:
                    raise ValueError(f"item {item!r} is not in the catalogue")
                catalogue[item] = len(catalogue)
            rows.append(readers.setdefault(reader, len(readers)))
            cols.append(catalogue[item])
        return cls(binary_matrix(rows, cols, (len(readers), len(catalogue))), list(readers), list(catalogue))

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def item_ids(self, indices: Iterable[int]) -> list[str]:
        return [self.items[i] for i in indices]


def binary_matrix(rows: Sequence[int], cols: Sequence[int], shape: tuple[int, int]) -> sp.csr_matrix:
    """csr float32 with 1.0 at every (row, col) given; duplicates collapse to 1."""
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
                           shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """``reader<TAB>item`` lines without header (blank lines skipped); a malformed line raises ``ValueError``
    with its number, a missing file ``FileNotFoundError`` with the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"interactions file not found: {path}")
    pairs: list[tuple[str, str]] = []
    with path.open(encoding="utf-8-sig") as lines:  # a BOM is not part of the first id
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise ValueError(f"{path}, line {number}: expected 2 tab-separated fields (reader, item), "
                                 f"found {len(fields)}: {line[:80]!r}")
            reader, item = (f.strip() for f in fields)
            if not reader or not item:
                raise ValueError(f"{path}, line {number}: empty {'reader' if not reader else 'item'} id")
            pairs.append((reader, item))
    return pairs


def read_tsv(path: str | Path, items: Sequence[str] | None = None) -> Interactions:
    """Read a ``reader<TAB>item`` file (see :func:`read_pairs`) into :class:`Interactions`."""
    return Interactions.from_pairs(read_pairs(path), items=items)
