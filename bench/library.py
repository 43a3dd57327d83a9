"""Library recommendations (issue 7): leave-one-out benchmark of the models and "similar media" quality.

goodbooks-10k (../shared/data/goodbooks-10k, read at run time, never copied; CC BY-SA 4.0): 3,000 readers'
book ratings as stand-in loans (``interactions_3k.csv``) and one held-out book per reader
(``test_interactions_3k.csv``). Models: ``popularity``, ``itemknn`` (cosine, top-100 neighbours), ``ease`` (λ tuned
on a validation split of the training loans), ``als`` (implicit), and ``rathaus`` — the blend of EASE, item-kNN,
content similarity and popularity with weights tuned on the same validation split (never on the test file).
Content vectors: metadata only (TF-IDF over title + authors, plus shared-author and language overlap) — the
product would pass the platform's sentence-embedder vectors to ``ContentSimilarity`` instead.

Similar media: there are no descriptions or book→tag mapping in the data, so quality is measured as the share of
the top-10 similar books that share an author with the query book — for content-only, co-loan-only and blended
"similar", vs random and popularity baselines. Content similarity itself uses authors, so its share is high by
construction; the co-loan figure is the independent one.

    OMP_NUM_THREADS=1 .venv/bin/python bench/library.py [--data DIR] [--seed 0] [--no-save]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED_DATA, machine, require, table, write_result

sys.path.insert(0, str(ROOT / "src"))
import pandas as pd
from scipy.stats import binomtest

from rathaus.library.blend import Blend
from rathaus.library.content import ItemContent
from rathaus.library.evaluate import batched_ranks, evaluate_all, format_table, test_cases
from rathaus.library.interactions import read_pairs, read_tsv
from rathaus.library.serving import similar_items

DEFAULT_DATA = SHARED_DATA / "goodbooks-10k"
SIMILAR_K = 10
SIMILAR_QUERIES = 1000


def book_content(books: pd.DataFrame) -> Callable[[list[str]], ItemContent]:
    """``item_ids → ItemContent`` from books.csv (title, authors split at commas, language)."""
    by_id = books.set_index(books["book_id"].astype(str))

    def content(item_ids: list[str]) -> ItemContent:
        rows = by_id.loc[item_ids]
        return ItemContent(titles=rows["title"].fillna("").tolist(),
                           authors=[[a.strip() for a in str(s).split(",")] for s in rows["authors"].fillna("")],
                           languages=rows["language_code"].fillna("unknown").tolist())

    return content


def author_share(neighbours: list[list[int]], queries: np.ndarray, authors: list[set[str]]) -> float:
    shared = [len(authors[q] & authors[n]) > 0 for q, ns in zip(queries, neighbours, strict=True) for n in ns]
    return float(np.mean(shared)) if shared else float("nan")


def similar_media(model: Blend, authors: list[set[str]], popularity: np.ndarray, seed: int) -> dict[str, float]:
    """Share of top-10 "similar" books sharing an author with the query, per method."""
    rng = np.random.default_rng(seed)
    n_items = len(authors)
    queries = rng.choice(n_items, size=min(SIMILAR_QUERIES, n_items), replace=False)
    methods = {"content": 0.0, "coloan": 1.0, "rathaus": 0.5}
    figures = {}
    for method, weight in methods.items():
        lists = [[int(r.item) for r in similar_items(model, int(q), SIMILAR_K, co_loan_weight=weight)]
                 for q in queries]
        figures[f"similar_author_share_{method}"] = author_share(lists, queries, authors)
    random_lists = [[int(i) for i in rng.choice(np.delete(np.arange(n_items), q), SIMILAR_K, replace=False)]
                    for q in queries]
    figures["similar_author_share_random"] = author_share(random_lists, queries, authors)
    by_popularity = np.argsort(-popularity, kind="stable")
    popular_lists = [[int(i) for i in by_popularity[by_popularity != q][:SIMILAR_K]] for q in queries]
    figures["similar_author_share_popularity"] = author_share(popular_lists, queries, authors)
    return figures


def paired_hr10(fitted: dict[str, object], train_path: Path, test_path: Path) -> dict[str, float]:
    """Readers the blend hits at 10 and the best single model (EASE) misses, and the reverse; exact sign test."""
    train = read_tsv(train_path)
    cases = test_cases(train, read_pairs(test_path))
    hits = {name: batched_ranks(fitted[name], train.matrix, cases) < 10 for name in ("rathaus", "ease")}
    wins, losses = int(np.sum(hits["rathaus"] & ~hits["ease"])), int(np.sum(~hits["rathaus"] & hits["ease"]))
    p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
    return {"paired_hr10_rathaus_only": wins, "paired_hr10_ease_only": losses, "paired_hr10_sign_test_p": p}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="goodbooks-10k directory")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-save", action="store_true", help="print only, do not write bench/results")
    args = ap.parse_args()
    train_path = require(args.data / "interactions_3k.csv", "goodbooks-10k interactions (interactions_3k.csv)")
    test_path = require(args.data / "test_interactions_3k.csv", "goodbooks-10k test file (test_interactions_3k.csv)")
    books = pd.read_csv(require(args.data / "books.csv", "goodbooks-10k catalogue (books.csv)"))

    started = time.perf_counter()
    fitted: dict[str, object] = {}
    content = book_content(books)
    result = evaluate_all(train_path, test_path, content=content, seed=args.seed, fitted=fitted)
    print(f"data: {args.data} — {result['readers']} readers, {result['items']} books, {result['loans']} loans; "
          f"leave-one-out test: {result['test_pairs']} pairs (content: metadata only, TF-IDF title + authors)")
    print(format_table(result))
    print(f"rathaus weights (tuned on a validation split of the training loans): {result['rathaus_weights']}; "
          f"EASE λ {result['rathaus_ease_l2']}")
    print("rathaus / best single model: " + ", ".join(
        f"{m} {result[f'rathaus_vs_best_single_{m}']:.3f}" for m in ("hr10", "hr20", "ndcg10", "ndcg20")))

    paired = paired_hr10(fitted, train_path, test_path)
    print(f"paired HR@10: {paired['paired_hr10_rathaus_only']} readers hit only by rathaus, "
          f"{paired['paired_hr10_ease_only']} only by EASE (sign test p = {paired['paired_hr10_sign_test_p']:.2f})")
    blend = fitted["rathaus"]
    assert isinstance(blend, Blend)
    item_ids = read_tsv(train_path).items
    authors = [set(a.casefold() for a in names) for names in content(item_ids).authors]
    similar = similar_media(blend, authors, blend.components["popularity"].popularity, args.seed)
    print(f"\nsimilar media: share of the top-{SIMILAR_K} sharing an author with the query book "
          f"({min(SIMILAR_QUERIES, len(item_ids))} random query books; the data have no descriptions or book tags, "
          "so shared authors are the only check; content similarity uses authors, so its figure is by construction)")
    print(table([(k.removeprefix("similar_author_share_"), f"{v:.3f}") for k, v in similar.items()],
                ("method", "author share")))
    seconds = time.perf_counter() - started
    print(f"{seconds:.0f} s in all")
    if not args.no_save:
        figures = {**result, **similar, **paired, "seconds": seconds, "seed": args.seed, "data": args.data.name,
                   "content": "metadata (tfidf title+authors, author and language overlap)", **machine()}
        print(f"written {write_result('library', figures)}")


if __name__ == "__main__":
    main()
