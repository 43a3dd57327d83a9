"""Shared helpers for benchmarks: data paths, result files, tables."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"\w+", re.UNICODE)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED_DATA = Path(os.environ.get("RATHAUS_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED_SEEDS = SHARED_DATA.parent / "seeds"


def require(path: Path, what: str) -> Path:
    """Exit with one clear line when a data set is not on this machine (it is never in the repository)."""
    if not path.exists():
        print(f"bench: {what} not found at {path}; pass its path on the command line "
              f"(the data sets are not redistributed with rathaus)", file=sys.stderr)
        raise SystemExit(2)
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()}


def write_result(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    flat = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in figures.items()}
    path.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")
    return path


def read_results(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def merge_result(name: str, figures: dict[str, Any]) -> Path:
    """Like :func:`write_result`, but keeping the keys of the file that other benchmarks wrote (``load.json`` is
    written by bench/load_chat.py and bench/load_search.py)."""
    return write_result(name, {**read_results(name), **figures})


def bench_settings(prefix: str = "rathaus-bench-", **overrides: Any) -> Any:
    """Settings for a benchmark: a fresh data directory and database, the shipped model catalogue."""
    import tempfile
    import uuid

    from rathaus.core.settings import Settings

    work = Path(tempfile.mkdtemp(prefix=prefix))
    return Settings(_env_file=None, data_dir=work, database_name="bench_" + uuid.uuid4().hex[:6], **overrides)


def progress(items: Any, desc: str = "") -> Any:
    """``items`` with a tqdm progress bar when tqdm is installed."""
    try:
        from tqdm import tqdm
    except ImportError:  # the progress bar is optional
        return items
    return tqdm(items, desc=desc)


def read_dump(path: Path | None) -> list[dict[str, Any]]:
    """The records of a JSONL dump written by :func:`append_dump` (none when there is no file)."""
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def append_dump(path: Path | None, record: dict[str, Any]) -> None:
    """One record appended to a JSONL dump (a run can be resumed from it)."""
    if path is not None:
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]])


def bm25_scores(passages: list[dict], questions: list[dict], *, field: str = "text",
                lemmatise: bool = False) -> dict[str, float]:
    """The bm25s baseline: MRR@10 and Recall@1/5/10 of each question's gold passage. ``field`` is a key of
    the passage records or "title+text"; ``lemmatise`` maps words to their German lemma (simplemma)."""
    import bm25s

    def tokens(text: str) -> list[str]:
        words = [t.lower() for t in TOKEN.findall(text)]
        if lemmatise:
            import simplemma

            words = [simplemma.lemmatize(w, lang="de").lower() for w in words]
        return words

    def content(p: dict) -> str:
        return f"{p.get('title') or ''} {p['text']}" if field == "title+text" else str(p[field])

    retriever = bm25s.BM25()
    retriever.index([tokens(content(p)) for p in passages], show_progress=False)
    ids = [p["id"] for p in passages]
    rr, hits = [], {1: 0, 5: 0, 10: 0}
    for q in questions:
        docs, _ = retriever.retrieve([tokens(q["question"])], k=min(10, len(ids)), show_progress=False)
        ranked = [ids[i] for i in docs[0]]
        rank = ranked.index(q["passage_id"]) + 1 if q["passage_id"] in ranked else None
        rr.append(1 / rank if rank else 0.0)
        for k in hits:
            hits[k] += bool(rank and rank <= k)
    n = len(questions)
    return {"mrr10": sum(rr) / n, **{f"r{k}": v / n for k, v in hits.items()}}


def replicate_collection(engine: Any, collection: str, target_chunks: int) -> int:
    """Copy a collection's documents and chunks under new ids (vectors reused, no re-embedding) until it
    holds about ``target_chunks`` chunks, with exact BM25 statistics; returns the chunk count."""
    with engine.begin() as conn:
        chunks = conn.exec_driver_sql("SELECT count(*) FROM kb_chunks").scalar_one()
        for i in range(1, max(1, target_chunks // max(1, chunks))):
            conn.exec_driver_sql(f"""
                WITH docs AS (
                    INSERT INTO kb_documents (collection_id, source, external_id, url, title, language, mime,
                                              content_hash, text, pages, modified_at, warnings)
                    SELECT collection_id, source || '#{i}', external_id || '#{i}', url, title, language, mime,
                           md5(content_hash || '{i}'), text, pages, modified_at, warnings
                    FROM kb_documents WHERE strpos(source, '#') = 0 RETURNING id, source)
                INSERT INTO kb_chunks (document_id, collection_id, ord, start, "end", heading_path, page, language,
                                       text, embedding, context, context_embedding)
                SELECT d.id, c.collection_id, c.ord, c.start, c."end", c.heading_path, c.page, c.language,
                       c.text, c.embedding, c.context, c.context_embedding
                FROM kb_chunks c JOIN kb_documents o ON o.id = c.document_id
                JOIN docs d ON d.source = o.source || '#{i}'""")
        # keep BM25's statistics exact for the replicated corpus
        conn.exec_driver_sql("DELETE FROM kb_lexemes")
        conn.exec_driver_sql(f"""INSERT INTO kb_lexemes (collection_id, lexeme, df)
            SELECT c.id, s.word, s.ndoc FROM kb_collections c,
            ts_stat('SELECT tsv FROM kb_chunks') s WHERE c.name = '{collection}'""")
        conn.exec_driver_sql(f"""UPDATE kb_collections SET chunk_count = s.n, token_count = s.t
            FROM (SELECT count(*) AS n, sum(tokens) AS t FROM kb_chunks) s WHERE name = '{collection}'""")
        conn.exec_driver_sql("ANALYZE kb_chunks")
        return int(conn.exec_driver_sql("SELECT count(*) FROM kb_chunks").scalar_one())


def ingest_jsonl(rt: Any, principal: Any, collection: str, passages_file: Path,
                 embedding_model: str | None = None) -> tuple[float, int]:
    """A new public collection ``collection`` filled from a JSONL file through the platform's ingestion, its
    vectors from ``embedding_model`` (default: the catalogue's default); (seconds the ingestion took, chunks)."""
    import time

    from rathaus.knowledge import collections
    from rathaus.knowledge.ingest import Ingestor, sources_from_jsonl

    with rt.db.session() as session:
        collections.create(session, principal, collection,
                           embedding_model=embedding_model or rt.catalog.defaults.embedding)
    sources, problems = sources_from_jsonl(passages_file)
    t0 = time.perf_counter()
    report = Ingestor(rt, principal, collection).run(sources, failures=problems)
    return time.perf_counter() - t0, int(report.counts["chunks"])
