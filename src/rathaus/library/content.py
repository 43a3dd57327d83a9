"""Content-based item similarity (for cold items and "similar media") and the search-query signal.

Item text vectors come from the caller — in the product the platform's sentence embedder over title, authors,
subjects and description (for items without a description the text is just the metadata). Without vectors a
TF-IDF over title and author tokens stands in. Metadata overlap (shared authors, shared subjects, same language)
is added with fixed weights; each item keeps its ``k`` most similar items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MultiLabelBinarizer, normalize

from rathaus.library.recommenders import Arrays, SimilarityModel
from rathaus.library.similarity import cosine_rows, top_k_neighbours


@dataclass
class ItemContent:
    """Per item (same order as the matrix columns): title, author names, subjects, language, optional vectors."""

    titles: Sequence[str]
    authors: Sequence[Sequence[str]]
    subjects: Sequence[Sequence[str]] | None = None
    languages: Sequence[str] | None = None
    vectors: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.titles)

    def texts(self) -> list[str]:
        """Title and authors as one text per item (the metadata-only text)."""
        return [f"{t} {' '.join(a)}" for t, a in zip(self.titles, self.authors, strict=True)]


def metadata_vectors(content: ItemContent) -> sp.csr_matrix:
    """TF-IDF (unigrams + bigrams, sublinear tf) over title and author tokens — the stand-in for embeddings."""
    return sp.csr_matrix(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(
        content.texts()), dtype=np.float32)


def label_matrix(labels: Sequence[Sequence[str]]) -> sp.csr_matrix:
    """Binary items × labels (labels compared case-insensitively, stripped)."""
    clean = [sorted({s.strip().casefold() for s in row if s.strip()}) for row in labels]
    return sp.csr_matrix(MultiLabelBinarizer(sparse_output=True).fit_transform(clean), dtype=np.float32)


class ContentSimilarity(SimilarityModel):
    """Item × item similarity = text_weight · cosine(vectors or TF-IDF) + author_weight · [shares an author]
    + subject_weight · cosine(subjects) + language_weight · [same language], top ``k`` per item.
    ``fit(X)`` ignores the loans (it only checks the item count)."""

    kind: ClassVar[str] = "content"

    def __init__(self, content: ItemContent | None = None, k: int = 100, text_weight: float = 1.0,
                 author_weight: float = 0.5, subject_weight: float = 0.3, language_weight: float = 0.1) -> None:
        super().__init__()
        self.content = content
        self.weights = {"k": k, "text_weight": text_weight, "author_weight": author_weight,
                        "subject_weight": subject_weight, "language_weight": language_weight}

    def fit(self, X: sp.csr_matrix | None = None) -> Self:
        if self.content is None:
            raise ValueError("ContentSimilarity needs ItemContent to fit (a loaded model is already fitted)")
        if X is not None and X.shape[1] != len(self.content):
            raise ValueError(f"content describes {len(self.content)} items, the matrix has {X.shape[1]}")
        self.similarity = top_k_neighbours(len(self.content), self._rows(), int(self.weights["k"]))
        return self

    def _rows(self) -> Any:
        c, w = self.content, self.weights
        assert c is not None
        text = cosine_rows(c.vectors if c.vectors is not None else metadata_vectors(c))
        parts = [(w["author_weight"], label_matrix(c.authors), True)]
        if c.subjects is not None and any(s.strip() for row in c.subjects for s in row):  # none at all: skip
            parts.append((w["subject_weight"], normalize(label_matrix(c.subjects)), False))
        if c.languages is not None:
            parts.append((w["language_weight"], label_matrix([[lang] for lang in c.languages]), True))

        def rows(index: np.ndarray) -> np.ndarray:
            block = w["text_weight"] * text(index)
            for weight, labels, binary in parts:
                overlap = (labels[index] @ labels.T).toarray()
                block += weight * (overlap > 0 if binary else overlap)
            return block

        return rows

    def params(self) -> dict[str, Any]:
        return dict(self.weights)

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: Arrays) -> Self:
        model = cls(None, **params)
        model.similarity = sp.csr_matrix(arrays["similarity"], dtype=np.float32)
        return model


def search_signal(items: np.ndarray | Sequence[str], queries: np.ndarray | Sequence[str]) -> np.ndarray:
    """Item scores (n_items, float32, ≥ 0) from a reader's recent search queries: the mean cosine similarity of
    each item to the queries. ``items``/``queries`` are either vectors (n × d and m × d, e.g. from the platform's
    embedder) or texts (then TF-IDF fitted on the item texts). No queries → zeros."""
    n_items = items.shape[0] if isinstance(items, np.ndarray) else len(items)
    if len(queries) == 0:
        return np.zeros(n_items, dtype=np.float32)
    if isinstance(items, np.ndarray):
        item_vectors, query_vectors = normalize(items), normalize(np.atleast_2d(np.asarray(queries)))
    else:
        vectorizer = TfidfVectorizer(sublinear_tf=True)
        item_vectors = vectorizer.fit_transform(list(items))
        query_vectors = vectorizer.transform(list(queries))
    similarity = item_vectors @ query_vectors.T
    similarity = similarity.toarray() if sp.issparse(similarity) else np.asarray(similarity)
    return np.clip(similarity.mean(axis=1), 0, None).astype(np.float32)
