"""Library recommendations over HTTP: imports, catalogue, "similar media", a reader's recommendations, opt-out
and opt-in, training.

The raw reader id (library card number) only ever travels in a request BODY (``POST /recommendations``,
``POST /opt-outs``, ``POST /opt-ins``), never in a URL, so it does not land in access logs; it is turned into
its pseudonym at once and never logged or returned. Roles: see rathaus.library.access.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.errors import BadRequest, PayloadTooLarge
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.library import access, privacy, service, store
from rathaus.library.vocabulary import AgeGroup, CatalogueFormat, ImportKind, MediaType

router = APIRouter(prefix="/api/v1/library", tags=["Library"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 409, 413, 422, 503)}
MAX_UPLOAD_BYTES = 50_000_000  # the upload request limit (RATHAUS_UPLOAD_MAX_MB + 1 MB) applies first
Language = Annotated[str, Field(pattern=r"^[a-z]{3}$", description="ISO 639-2/B, e.g. ger, eng")]


@router.post("/imports", status_code=201, responses=ERRORS)
async def upload_import(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="Catalogue (CSV or MARC21), loans CSV or searches CSV")],
    kind: Annotated[ImportKind, Form()],
    format: Annotated[CatalogueFormat, Form(description="catalogue format")] = CatalogueFormat.AUTO,
) -> dict[str, Any]:
    """Import one file (one transaction); the answer is the import's report with up to 1,000 problems."""
    access.require_import(principal)
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Datei zu groß / file too large (> {MAX_UPLOAD_BYTES:,} bytes); "
                              "import big files with 'rathaus library import'")
    if not data:
        raise BadRequest("leere Datei / the file is empty")
    name = (file.filename or f"{kind}.csv").replace("/", "_")[:200]

    def run() -> store.ImportReport:
        return store.import_file(runtime.db, kind, data, name, user=principal.id, fmt=format)

    return (await run_in_threadpool(run)).as_dict()


@router.get("/imports/{import_id}", responses=ERRORS)
def get_import(import_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """An import's figures and its problems."""
    access.require_read(principal)
    return store.get_import(runtime.db, import_id)


@router.get("/items", responses=ERRORS)
def list_items(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    media_type: MediaType | None = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None,
    age_group: AgeGroup | None = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="part of title or author")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Catalogue items ordered by id, with filters and paging."""
    access.require_similar(principal)
    items = store.list_items(runtime.db, media_type=media_type, language=language, age_group=age_group,
                             subject=subject, q=q, limit=limit, offset=offset)
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/items/{item_id}", responses=ERRORS)
def get_item(item_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    access.require_similar(principal)
    return store.get_item(runtime.db, item_id)


@router.get("/items/{item_id}/similar", responses=ERRORS)
def similar(
    item_id: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    k: Annotated[int, Query(ge=1, le=service.MAX_K)] = 10,
    media_type: MediaType | None = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None,
    age_group: AgeGroup | None = None,
) -> dict[str, Any]:
    """"Similar media" for the catalogue page (no personal data): content/metadata similarity and co-loans."""
    access.require_similar(principal)
    return service.similar(runtime, item_id, k, media_type=media_type, language=language, age_group=age_group)


class ReaderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reader: str = Field(min_length=1, max_length=100, description="the library's reader id (card number)")

    @field_validator("reader")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reader id is empty")
        return value


class RecommendationRequest(ReaderBody):
    k: int = Field(10, ge=1, le=service.MAX_K)
    media_type: MediaType | None = None
    language: Language | None = None
    age_group: AgeGroup | None = None
    explain: bool = True


@router.post("/recommendations", responses=ERRORS)
def recommendations(body: RecommendationRequest, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """A reader's recommendations ("für Sie") with a German and English explanation per item."""
    access.require_recommend(principal)
    return service.for_you(runtime, body.reader, body.k, media_type=body.media_type, language=body.language,
                           age_group=body.age_group, explain_items=body.explain)


@router.post("/opt-outs", responses=ERRORS)
def record_opt_out(body: ReaderBody, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """A reader objects: their loans and searches are deleted now, later imports skip them."""
    access.require_opt_out(principal)
    with runtime.db.session() as session:
        done = privacy.opt_out(session, runtime.settings, body.reader)
    return {k: v for k, v in done.items() if k != "reader_key"}


@router.post("/opt-ins", responses=ERRORS)
def record_opt_in(body: ReaderBody, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Undo an opt-out (the reader's loans come back with the next import)."""
    access.require_opt_out(principal)
    with runtime.db.session() as session:
        done = privacy.opt_in(session, runtime.settings, body.reader)
    return {k: v for k, v in done.items() if k != "reader_key"}


@router.post("/train", status_code=202, responses=ERRORS)
def train(runtime: RuntimeDep, principal: PrincipalDep) -> JSONResponse:
    """Train on the stored loans and catalogue (seconds to minutes) and make it the current model: a job
    (``library.train``); poll ``Location`` (``/api/v1/jobs/{id}``), whose ``result`` is the training report.
    409 while another training waits."""
    access.require_train(principal)
    job_id = runtime.jobs.defer("library.train", requested_by=principal)
    return JSONResponse({"status": "queued", "job_id": job_id, "job": f"/api/v1/jobs/{job_id}"}, status_code=202,
                        headers={"Location": f"/api/v1/jobs/{job_id}"})


@router.get("/model", responses=ERRORS)
def model(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """The current model's training report (409 when none is trained)."""
    access.require_similar(principal)
    return service.model_info(runtime)
