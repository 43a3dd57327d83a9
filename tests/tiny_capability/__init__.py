"""A tiny capability, defined entirely in this package, to show the one-door rule: once it is declared (here via
``RATHAUS_CAPABILITIES=tiny_capability:CAPABILITY``), its CLI command, API route, page with its navigation link,
table with its migration, periodic job, settings section and UI strings appear – with no edit anywhere in rathaus."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import typer
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import Field
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.capability import Capability, Command, Job, Page
from rathaus.core.schema import Base
from rathaus.core.settings import SettingsSection


class TinySettings(SettingsSection):
    """The tiny capability's settings section: ``RATHAUS_TINY_GREETING_NAME``."""

    tiny_greeting_name: str = Field(default="Rathaus", min_length=1, max_length=40)


cli = typer.Typer(help="Winzig / tiny.", no_args_is_help=True)


@cli.command("hello")
def hello(name: str = "Rathaus") -> None:
    """Say hello."""
    typer.echo(f"Servus, {name}!")


router = APIRouter()


@router.get("/api/v1/tiny/hello")
def api_hello(request: Request) -> dict[str, str]:
    return {"hello": request.app.state.runtime.settings.section(TinySettings).tiny_greeting_name}


@router.get("/tiny", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    return "<!doctype html><html lang='de'><title>Tiny</title><main><h1>Winzig</h1></main></html>"


class TinyTick(Base):
    __tablename__ = "tiny_ticks"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[Any] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    tick: Mapped[int | None] = mapped_column(sa.BigInteger)


def tick(runtime: Any, timestamp: int | None = None) -> str:
    """The periodic job: one row per run, with the schedule's tick (a periodic job gets its ``timestamp``)."""
    with runtime.db.session() as session:
        session.add(TinyTick(tick=timestamp))
    return "ticked"


CAPABILITY = Capability(
    name="tiny",
    title="Winzig / tiny",
    commands=(Command("tiny", "tiny_capability:cli"),),
    routers=("tiny_capability:router",),
    tables=("tiny_capability",),
    migrations="tiny_capability.migrations",
    jobs=(Job("tiny.tick", "tiny_capability:tick", every="* * * * *"),),
    pages=(Page("/tiny", "Winzig", "Tiny", order=60),),
    strings="tiny_capability:STRINGS",
    settings="tiny_capability:TinySettings",
)

STRINGS = {"de": {"tiny_greeting": "Servus"}, "en": {"tiny_greeting": "Hello"}}
