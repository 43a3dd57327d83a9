"""Library recommendation models (issue 7): small hand-made loan matrices, exact values where they are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from rathaus.library.blend import Blend
from rathaus.library.content import ContentSimilarity, ItemContent, search_signal
from rathaus.library.evaluate import evaluate_all, format_table, run_eval
from rathaus.library.interactions import Interactions, read_tsv
from rathaus.library.metrics import hit_rate, ndcg, ranks
from rathaus.library.recommenders import ALS, EASE, ItemKNN, Popularity
from rathaus.library.serving import load, load_item_ids, recommend, save, similar_items

# items 0+1 and 2+3 are borrowed together; 4 once; 5 is a new book nobody has borrowed yet
LOANS = [[0, 1], [0, 1], [0, 1, 2], [2, 3], [2, 3], [2, 3, 4], [0, 1], [2, 3]]
N_ITEMS = 6
CONTENT = ItemContent(
    titles=["Pippi Langstrumpf", "Ronja Räubertochter", "Der Process", "Das Schloss", "Faust",
            "Pippi in Taka-Tuka-Land"],
    authors=[["Astrid Lindgren"], ["Astrid Lindgren"], ["Franz Kafka"], ["Franz Kafka"], ["Goethe"],
             ["Astrid Lindgren"]],
    languages=["ger"] * N_ITEMS)
WEIGHTS = {"ease": 0.5, "itemknn": 0.2, "content": 0.2, "popularity": 0.1}


def matrix(loans: list[list[int]] = LOANS, n_items: int = N_ITEMS) -> sp.csr_matrix:
    return Interactions.from_pairs([(f"r{u}", str(i)) for u, items in enumerate(loans) for i in items],
                                   items=[str(i) for i in range(n_items)]).matrix


def blend() -> Blend:
    return Blend(ContentSimilarity(CONTENT, k=10), weights=WEIGHTS, ease_l2=1.0, knn_k=10).fit(matrix())


def test_from_pairs_collapses_duplicates_and_keeps_catalogue() -> None:
    data = Interactions.from_pairs([("a", "x"), ("a", "x"), ("b", "y")], items=["x", "y", "z"])
    assert data.matrix.dtype == np.float32
    assert data.matrix.toarray().tolist() == [[1, 0, 0], [0, 1, 0]]
    assert data.readers == ["a", "b"] and data.item_index["z"] == 2
    with pytest.raises(ValueError, match="not in the catalogue"):
        Interactions.from_pairs([("a", "w")], items=["x"])


def test_read_tsv_reports_bad_line_and_missing_file(tmp_path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text("u1\tb1\nu1\tb2\n\nu2\tb1\n")
    assert read_tsv(good).matrix.toarray().tolist() == [[1, 1], [1, 0]]
    bad = tmp_path / "bad.tsv"
    bad.write_text("u1\tb1\nu2 b2\n")
    with pytest.raises(ValueError, match=r"line 2: expected 2 tab-separated fields"):
        read_tsv(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_tsv(tmp_path / "missing.tsv")


def test_ease_ranks_co_consumed_item_first() -> None:
    model = EASE(l2=1.0).fit(matrix())
    assert model.B.shape == (N_ITEMS, N_ITEMS) and np.all(np.diag(model.B) == 0)
    assert recommend(model, [0], k=2)[0].item == 1
    assert [r.item for r in recommend(model, [3], k=1)] == [2]


def test_itemknn_explains_with_the_right_source_item() -> None:
    model = ItemKNN(k=10).fit(matrix())
    recs = {r.item: r for r in recommend(model, [0, 2], k=3)}
    assert recs[1].because[0] == 0
    assert recs[3].because[0] == 2


def test_seen_items_excluded_and_allowed_mask_respected() -> None:
    model = EASE(l2=1.0).fit(matrix())
    assert all(r.item not in (0, 2) for r in recommend(model, [0, 2], k=N_ITEMS))
    allowed = np.array([True, False, True, True, True, True])
    recs = recommend(model, [0], k=N_ITEMS, allowed=allowed, exclude=[4])
    assert {r.item for r in recs} == {2, 3, 5}
    ids = [str(i) for i in range(N_ITEMS)]
    assert recommend(model, [0], k=1, item_ids=ids)[0].item == "1"


def test_new_item_reachable_through_content_of_same_author() -> None:
    model = blend()
    assert model.cold.tolist() == [False] * 5 + [True]
    recs = recommend(model, [0], k=3)
    by_item = {r.item: r for r in recs}
    assert 5 in by_item, [r.item for r in recs]
    assert by_item[5].because == [0]
    assert [r.item for r in similar_items(model, 5, k=1)] == [0]


def test_new_reader_gets_popularity_and_search_signal() -> None:
    model = blend()
    popular = np.argsort(-Popularity().fit(matrix()).popularity, kind="stable")[:3].tolist()
    assert [r.item for r in recommend(model, [], k=3)] == popular
    signal = search_signal(CONTENT.texts(), ["Faust Goethe"])
    assert signal.argmax() == 4
    assert recommend(model, [], k=1, search=signal * 10)[0].item == 4


def test_save_load_round_trip_gives_identical_scores(tmp_path) -> None:
    rows = matrix()[:3]
    for model in (blend(), ALS(factors=4, iterations=3).fit(matrix()), Popularity().fit(matrix())):
        path = save(model, tmp_path / model.kind, item_ids=list("abcdef"))
        loaded = load(path)
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.scores(rows), model.scores(rows))
        assert load_item_ids(path) == list("abcdef")
    assert not list(tmp_path.rglob("*.pkl"))


def test_metrics_by_hand() -> None:
    scores = np.array([[0.9, 0.5, 0.1, 0.7], [0.2, 0.3, 0.8, 0.1]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    rank = ranks(scores, seen, np.array([1, 2]))
    assert rank.tolist() == [1, 0]  # user 0: 0.7 beats 0.5 (0.9 is seen); user 1: target scores highest
    assert hit_rate(rank, 1) == 0.5 and hit_rate(rank, 2) == 1.0
    assert ndcg(rank, 1) == pytest.approx(0.5)
    assert ndcg(rank, 2) == pytest.approx((1 / math.log2(3) + 1) / 2)


def test_evaluate_all_counts_unknown_readers_and_items(tmp_path) -> None:
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"r{u}\tb{i}\n" for u, items in enumerate(LOANS) for i in items))
    test = tmp_path / "test.tsv"
    test.write_text("r0\tb2\nr3\tb0\nnobody\tb1\nr1\tunknown-book\n")
    result = evaluate_all(train, test, models={"popularity": lambda X: Popularity().fit(X),
                                               "ease": lambda X: EASE(1.0).fit(X)})
    assert (result["cases"], result["unknown_readers"], result["unknown_items"]) == (2, 1, 1)
    # popularity of the unseen items: r0 (saw b0, b1) → b2 (4 readers) first; r3 (saw b2, b3) → b0/b1 tie (4)
    assert result["popularity_hr10"] == 1.0 and result["popularity_ndcg10"] == pytest.approx((1 + 1) / 2)
    assert "1 readers, 1 items" in format_table(result)
    figures, table = run_eval(train, test, ks=(1, 2))
    assert "rathaus_vs_best_single_hr1" in figures and "HR@2" in table
