"""Ingestion speed on born-digital PDFs: pages/s through the whole path (extract, chunk, embed, store)
next to extraction alone in the same run.

The PDFs are generated here with reportlab from the text of the seed documents (real German
administrative text): --docs documents of --pages pages each.

    .venv/bin/python bench/ingest.py [--docs 40] [--pages 5] [--seeds DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_SEEDS, machine, require, table, write_result
from rathaus.core.auth import local_principal
from rathaus.core.settings import Settings
from rathaus.knowledge import collections
from rathaus.knowledge.chunking import chunk_document
from rathaus.knowledge.extract import extract_file
from rathaus.knowledge.ingest import Ingestor, sources_from_paths
from rathaus.runtime import Runtime


def make_pdfs(folder: Path, text: str, docs: int, pages: int) -> int:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = [line for para in text.split("\n") for line in (textwrap.wrap(para, 95) or [""])]
    per_page = 52
    made = 0
    for d in range(docs):
        c = canvas.Canvas(str(folder / f"bescheid-{d:03d}.pdf"), pagesize=A4)
        c.setTitle(f"Dokument {d}")
        for p in range(pages):
            start = ((d * pages + p) * per_page) % max(1, len(lines) - per_page)
            c.setFont("Helvetica-Bold", 14)
            c.drawString(60, 800, f"Abschnitt {p + 1}")
            c.setFont("Helvetica", 10)
            for i, line in enumerate(lines[start:start + per_page]):
                c.drawString(60, 775 - i * 14, line)
            c.showPage()
            made += 1
        c.save()
    return made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=40)
    ap.add_argument("--pages", type=int, default=5)
    ap.add_argument("--seeds", type=Path, default=SHARED_SEEDS)
    args = ap.parse_args()
    seeds = require(args.seeds, "seed documents")
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt")))
    work = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    pdfs = work / "pdfs"
    pdfs.mkdir()
    pages = make_pdfs(pdfs, text, args.docs, args.pages)

    t0 = time.perf_counter()
    chunks = 0
    for pdf in sorted(pdfs.glob("*.pdf")):
        chunks += len(chunk_document(extract_file(pdf)))
    extract_s = time.perf_counter() - t0

    settings = Settings(_env_file=None, data_dir=work / "data", database_name="bench_" + uuid.uuid4().hex[:6])
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        with rt.db.session() as session:
            collections.create(session, principal, "pdfs", embedding_model=rt.catalog.defaults.embedding)
        rt.gateway.warm_up()
        sources, problems = sources_from_paths([pdfs])
        t0 = time.perf_counter()
        report = Ingestor(rt, principal, "pdfs").run(sources, failures=problems)
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = Ingestor(rt, principal, "pdfs").run(sources_from_paths([pdfs])[0])
        reingest_s = time.perf_counter() - t0
    counts = report.counts
    figures = {
        "pages": pages, "documents": args.docs, "chunks": counts["chunks"], "failed": counts["failed"],
        "extract_pages_per_s": pages / extract_s, "ingest_pages_per_s": pages / ingest_s,
        "ingest_s": ingest_s, "ingest_to_extract": (pages / ingest_s) / (pages / extract_s),
        "reingest_unchanged_s": reingest_s, "reingest_unchanged": again.counts["unchanged"], **machine(),
    }
    print(table([
        ("extract + chunk only (baseline)", f"{pages / extract_s:.1f}", f"{extract_s:.1f}", f"{chunks}"),
        ("rathaus ingest (extract, chunk, embed, store)", f"{pages / ingest_s:.1f}", f"{ingest_s:.1f}",
         f"{counts['chunks']}"),
        ("re-ingest, nothing changed", f"{pages / reingest_s:.1f}", f"{reingest_s:.1f}", "0"),
    ], ("path", "pages/s", "seconds", "chunks")))
    print(f"written: {write_result('ingest', figures)}")


if __name__ == "__main__":
    main()
