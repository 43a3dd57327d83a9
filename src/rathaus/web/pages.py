"""Server-rendered pages (Jinja2) with a little vanilla JavaScript; no front-end build step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from rathaus.api.deps import RuntimeDep, csrf_token, get_principal
from rathaus.core import budgets, metering
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import Unauthenticated
from rathaus.models.routing import allowed_models
from rathaus.web.i18n import language, texts
from rathaus.web.login import LoginRequired

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["csrf_token"] = csrf_token  # base.html: <meta name="csrf-token">, logout form


def small_number(value: float | None, digits: int, lang: str = "de") -> str:
    """A figure with ``digits`` decimals; tiny ones keep two significant digits (0,000036 rather than 0,0000)."""
    v = float(value or 0)
    text = f"{v:.2g}" if v and abs(v) < 10 ** (-digits + 1) else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    if "e" in text:
        text = f"{v:.{min(12, digits + 6)}f}".rstrip("0")
    text = text or "0"
    return text.replace(".", ",") if lang == "de" else text


templates.env.filters["small"] = small_number
router = APIRouter(include_in_schema=False)


async def page_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """Like get_principal; in oidc mode a browser without a valid session is sent to /login?next=<page>."""
    try:
        return await get_principal(request, runtime)
    except Unauthenticated:
        if runtime.settings.auth_mode == "oidc" and "authorization" not in request.headers:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(path) from None
        raise


PagePrincipalDep = Annotated[Principal, Depends(page_principal)]


@router.get("/", response_class=HTMLResponse)
def index(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    lang = language(request)
    month = budgets.current_month()
    with runtime.db.session() as session:
        usage = metering.report(session, "department", month, principal.department)
    allowed = {dc.value: [m.name for m in allowed_models(runtime.catalog, "chat", dc)] for dc in DataClass}
    response = templates.TemplateResponse(request, "index.html", {
        "t": texts(lang), "lang": lang, "other_lang": "en" if lang == "de" else "de",
        "settings": runtime.settings, "principal": principal, "models": runtime.catalog.enabled(),
        "usage": usage[0] if usage else None, "month": month, "data_classes": list(DataClass),
        "allowed": allowed, "default_class": DataClass.INTERN.value,
        "assistants": list(request.app.state.assistants.values()), "base_url": str(request.base_url).rstrip("/"),
    })
    response.set_cookie("lang", lang, samesite="lax", httponly=True)
    return response


@router.get("/embed/{name}", response_class=HTMLResponse)
def embed(name: str, request: Request) -> HTMLResponse:
    """The citizen assistant page shown inside the widget's iframe (anonymous; embeddable anywhere)."""
    from rathaus.assistants.definitions import get_assistant

    lang = language(request)
    assistant = get_assistant(request.app.state.assistants, name)
    if not assistant.public:
        from rathaus.core.errors import NotFound

        raise NotFound(f"no assistant named {name!r}")
    response = templates.TemplateResponse(request, "embed.html", {
        "t": texts(lang), "lang": lang, "assistant": assistant,
        "api": f"/public/assistants/{assistant.name}/ask", "feedback_api": "/public/answers",
    })
    response.headers["Content-Security-Policy"] = "frame-ancestors *; default-src 'self'"
    return response


@router.get("/widget.js")
def widget() -> FileResponse:
    """The script tag other web pages include to show an assistant."""
    return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})
