"""Knowledge collections over HTTP: create, upload, ingest URLs, status, search, delete."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Annotated, Any, Literal

import anyio
from anyio.lowlevel import RunVar
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, HttpUrl, model_validator
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.knowledge import access, collections, embedders, search
from rathaus.knowledge.ingest import DEFAULT_MAX_BYTES, UPLOAD_WAIT_SECONDS, Ingestor, ItemResult, source_from_bytes
from rathaus.knowledge.settings import KnowledgeSettings
from rathaus.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["Knowledge"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 409, 413, 422, 503)}
MAX_FILES = 50


class CollectionIn(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    title: str | None = Field(default=None, max_length=300)
    description: str = Field(default="", max_length=2000)
    visibility: Literal["public", "restricted", "private"] = "public"
    departments: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, max_length=50)
    roles: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, max_length=50)
    data_class: DataClass = DataClass.OEFFENTLICH
    urls: list[HttpUrl] = Field(default_factory=list, max_length=1000)
    sitemap: HttpUrl | None = None
    refresh_hours: int | None = Field(default=None, ge=1, le=8760)
    embedding_model: str | None = Field(default=None, max_length=100, description=(
        "Embedding model of the catalogue for this collection (default: the catalogue's default); cannot be "
        "changed later. multilingual-e5-small ranks colloquial questions better but indexes ~30x slower."))


    @model_validator(mode="after")
    def _no_nul(self) -> CollectionIn:
        texts = [self.title or "", self.description, *(self.departments or []), *(self.roles or [])]
        if any("\x00" in t for t in texts):
            raise ValueError("texts must not contain NUL characters")
        return self


class IngestUrlsIn(BaseModel):
    urls: list[HttpUrl] = Field(default_factory=list, max_length=1000)
    sitemap: HttpUrl | None = None
    follow_links: bool = False
    max_pages: int = Field(default=200, ge=1, le=10_000)


def _status_json(runtime: Runtime, principal: Principal, name: str) -> dict[str, Any]:
    with runtime.db.session() as session:
        return asdict(collections.status(session, collections.get_readable(session, principal, name)))


@router.get("/collections", responses=ERRORS)
def list_collections(runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The collections you may read, with their state."""
    with runtime.db.session() as session:
        return [asdict(collections.status(session, c)) for c in collections.readable(session, principal)]


@router.post("/collections", status_code=201, responses=ERRORS)
def create_collection(body: CollectionIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create a collection (admin, or kb-editor for the own department; private ones: anyone).

    Web sources (``urls``, ``sitemap``) need the role kb-editor or admin, whatever the visibility."""
    sources = {k: v for k, v in {"urls": [str(u) for u in body.urls],
                                 "sitemap": str(body.sitemap) if body.sitemap else None}.items() if v}
    with runtime.db.session() as session:
        collections.create(session, principal, body.name, title=body.title, description=body.description,
                           visibility=body.visibility, departments=body.departments, roles=body.roles,
                           data_class=DataClass.parse(body.data_class), sources=sources,
                           refresh_hours=body.refresh_hours,
                           embedding_model=embedders.check_embedder(runtime, body.embedding_model))
    return _status_json(runtime, principal, body.name)


@router.get("/collections/{name}", responses=ERRORS)
def get_collection(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return _status_json(runtime, principal, name)


@router.delete("/collections/{name}", responses=ERRORS)
def delete_collection(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Delete a collection with its documents, chunks and vectors."""
    with runtime.db.session() as session:
        count = collections.delete(session, principal, name)
    return {"deleted": name, "documents": count}


@router.post("/collections/{name}/documents", responses=ERRORS)
async def upload_documents(name: str, runtime: RuntimeDep, principal: PrincipalDep,
                           files: Annotated[list[UploadFile], File(description="PDF, DOCX, HTML, Markdown, text")]
                           ) -> dict[str, Any]:
    """Upload files; each gets a report line, the rest of the batch continues."""
    if not files:
        raise BadRequest("no files uploaded")
    if len(files) > MAX_FILES:
        raise BadRequest(f"at most {MAX_FILES} files per upload")
    sources, problems = [], []
    for upload in files:
        data = await upload.read(DEFAULT_MAX_BYTES + 1)
        filename = (upload.filename or "upload").replace("/", "_")[:200]
        if len(data) > DEFAULT_MAX_BYTES:
            problems.append(ItemResult(f"upload:{filename}", "failed", "file too large"))
            continue
        sources.append(source_from_bytes(filename, data, upload.content_type))

    def run() -> Any:
        return Ingestor(runtime, principal, name).run(sources, failures=problems, wait_seconds=UPLOAD_WAIT_SECONDS)

    report = await run_in_threadpool(run)
    return {"collection": name, "counts": report.counts, "items": [asdict(i) for i in report.items],
            "seconds": round(report.seconds, 3)}


@router.post("/collections/{name}/ingest", status_code=202, responses=ERRORS)
def ingest_urls(name: str, body: IngestUrlsIn, runtime: RuntimeDep, principal: PrincipalDep) -> JSONResponse:
    """Crawl URLs or a sitemap in the background (role kb-editor or admin): a job (``knowledge.ingest``) whose
    progress ``Location`` (``/api/v1/jobs/{id}``) shows; the collection's status shows the run. Non-public
    addresses are refused unless the operator allow-listed them (RATHAUS_OUTBOUND_ALLOW)."""
    if not body.urls and not body.sitemap:
        raise BadRequest("give urls or a sitemap")
    access.require_web_sources(principal)
    ingestor = Ingestor(runtime, principal, name)  # checks the right to manage now, not only in the job
    job_id = runtime.jobs.defer("knowledge.ingest", requested_by=principal, collection=name,
                                collection_id=ingestor.collection.id, urls=[str(u) for u in body.urls],
                                sitemap=str(body.sitemap) if body.sitemap else None, follow_links=body.follow_links,
                                max_pages=body.max_pages)
    return JSONResponse({"collection": name, "status": "queued", "job_id": job_id, "job": f"/api/v1/jobs/{job_id}"},
                        status_code=202, headers={"Location": f"/api/v1/jobs/{job_id}"})


_SEARCH_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("rathaus_search_limiter")  # one per event loop


def search_limiter(runtime: Runtime) -> anyio.CapacityLimiter | None:
    """The threads searches run in (RATHAUS_KNOWLEDGE_SEARCH_THREADS); None: the server's shared pool."""
    threads = runtime.settings.section(KnowledgeSettings).knowledge_search_threads
    if not threads:
        return None
    try:
        return _SEARCH_LIMITER.get()
    except LookupError:
        made = anyio.CapacityLimiter(threads)
        _SEARCH_LIMITER.set(made)
        return made


@router.get("/search", responses=ERRORS, response_model=dict[str, Any])
async def search_endpoint(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    collection: Annotated[list[str] | None, Query(max_length=50)] = None,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    mode: Literal["hybrid", "fts", "vector"] = "hybrid",
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2}$")] = None,
    rescore: bool = False,
) -> JSONResponse:
    """Hybrid search over the collections you may read (``rescore``: score fusion, see docs/knowledge.md)."""
    # async, the search and its JSON in threads of their own: a search waiting for a thread holds none, and the
    # event loop (/healthz) does no more than pass bytes
    run = partial(_search_response, runtime, principal, q, collection_names=collection, k=k, mode=mode,
                  language=language, rescore=rescore)
    return await anyio.to_thread.run_sync(run, limiter=search_limiter(runtime))


def _search_response(runtime: Runtime, principal: Principal, q: str, **kwargs: Any) -> JSONResponse:
    result = search(runtime, principal, q, **kwargs)
    return JSONResponse({"collections": result.collections, "hits": [
        {**asdict(h), "modified_at": h.modified_at.isoformat() if h.modified_at else None} for h in result.hits
    ], "metrics": result.embedding_metrics})
