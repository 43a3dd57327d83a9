"""Server-rendered pages (Jinja2) with a little vanilla JavaScript; no front-end build step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from rathaus.core import budgets, capability, metering
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import Unauthenticated
from rathaus.http.deps import RuntimeDep, csrf_token, get_principal
from rathaus.literacy import guides as literacy
from rathaus.models.routing import allowed_models
from rathaus.runtime import Runtime
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


def nav_pages(here: str, principal: Principal | None, lang: str) -> list[dict[str, Any]]:
    """The navigation from the capabilities' pages (rathaus.core.capability), for this principal and language."""
    roles = principal.roles if principal is not None else ()
    return [{"path": p.path, "label": p.label(lang),
             "current": here == p.path if p.path == "/" else here.startswith(p.path) and p.path != "/docs"}
            for p in capability.nav_pages() if p.visible_to(roles)]


templates.env.globals["nav_pages"] = nav_pages
# AI literacy: the guidance panel of a tool and the contextual hints (templates/literacy_guide.html, chat.html)
templates.env.globals["literacy_guide"] = literacy.tool_guide
templates.env.globals["literacy_hints"] = literacy.hints
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


def page_context(request: Request, runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """What every signed-in page's template needs: texts, language, settings, principal."""
    lang = language(request)
    return {"t": texts(lang), "lang": lang, "other_lang": "en" if lang == "de" else "de",
            "settings": runtime.settings, "principal": principal}


def render_page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """The template as a response that remembers the chosen language."""
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.set_cookie("lang", context["lang"], samesite="lax", httponly=True)
    return response


def models_by_class(runtime: Runtime) -> dict[str, list[str]]:
    """Chat models cleared for each data class (the model choices a page may offer)."""
    return {dc.value: [m.name for m in allowed_models(runtime.catalog, "chat", dc)] for dc in DataClass}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    month = budgets.current_month()
    with runtime.db.session() as session:
        usage = metering.report(session, "department", month, principal.department)
    return render_page(request, "index.html", {
        **page_context(request, runtime, principal), "models": runtime.catalog.enabled(),
        "usage": usage[0] if usage else None, "month": month, "data_classes": list(DataClass),
        "allowed": models_by_class(runtime), "default_class": DataClass.INTERN.value,
        "assistants": list(request.app.state.assistants.values()), "base_url": str(request.base_url).rstrip("/"),
    })


@router.get("/embed/{name}", response_class=HTMLResponse)
def embed(name: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The citizen assistant page shown inside the widget's iframe (anonymous; embeddable anywhere)."""
    from rathaus.assistants.definitions import get_assistant
    from rathaus.checks.dialogue import widget_links

    lang = language(request)
    assistant = get_assistant(request.app.state.assistants, name)
    if not assistant.public:
        from rathaus.core.errors import NotFound

        raise NotFound(f"no assistant named {name!r}")
    # frameable by the origins in RATHAUS_EMBED_ALLOWED_ORIGINS: rathaus.api.security_headers.FRAMEABLE_ROUTES
    return templates.TemplateResponse(request, "embed.html", {
        "t": texts(lang), "lang": lang, "assistant": assistant,
        "api": f"/public/assistants/{assistant.name}/ask", "feedback_api": "/public/answers",
        "guided": widget_links(runtime, assistant.applications, lang),
    })


@router.get("/widget.js")
def widget() -> FileResponse:
    """The script tag other web pages include to show an assistant."""
    return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})
