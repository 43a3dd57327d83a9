"""Which model may serve a request: the data class decides, not the caller's wish."""

from __future__ import annotations

from dataclasses import dataclass

from rathaus.core.classification import DataClass
from rathaus.core.errors import DataClassNotAllowed, UnknownModel
from rathaus.models.catalog import Catalog, ModelSpec

AUTO = {"", "auto", "default"}


@dataclass(frozen=True)
class Route:
    spec: ModelSpec
    rerouted_from: str | None = None
    failover_from: str | None = None  # the model this call was routed to before it failed over (gateway)


def _candidates(catalog: Catalog, kind: str) -> list[ModelSpec]:
    default = catalog.get(getattr(catalog.defaults, kind))
    rest = [m for m in catalog.enabled(kind) if m is not default]
    return [default, *rest] if default and default.enabled else rest


def allowed_models(catalog: Catalog, kind: str, data_class: DataClass) -> list[ModelSpec]:
    return [m for m in _candidates(catalog, kind) if m.allows(data_class)]


def resolve(catalog: Catalog, name: str | None, kind: str, data_class: DataClass, reroute: bool) -> Route:
    """Pick the model for a request or raise UnknownModel / DataClassNotAllowed."""
    allowed = allowed_models(catalog, kind, data_class)
    if name is None or name.strip().lower() in AUTO:
        if not allowed:
            raise DataClassNotAllowed(f"no {kind} model is cleared for data class '{data_class}'")
        return Route(allowed[0])
    spec = catalog.get(name)
    if spec is None or spec.kind != kind or not spec.enabled:
        names = ", ".join(m.name for m in catalog.enabled(kind)) or "none"
        state = "disabled" if spec is not None and not spec.enabled else "unknown"
        raise UnknownModel(f"{state} {kind} model {name!r}; available: {names}", extra={"model": name})
    if spec.allows(data_class):
        return Route(spec)
    if reroute and allowed:
        return Route(allowed[0], rerouted_from=spec.name)
    cleared = ", ".join(c.value for c in spec.data_classes)
    others = ", ".join(m.name for m in allowed) or "none"
    raise DataClassNotAllowed(
        f"model {spec.name!r} ({spec.hosting}, {spec.location}) is cleared only for: {cleared}; this request is "
        f"'{data_class}'. Models cleared for it: {others}",
        extra={"model": spec.name, "data_class": data_class.value, "allowed_models": [m.name for m in allowed]},
    )
