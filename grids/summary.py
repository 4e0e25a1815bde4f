"""The "my grid" registry (GR-8): other apps plug their figures and map layers into a grid's summary.

grids must not import crm, fieldwork or campaigns, yet "my grid" shows their customers, open tasks
and last visit. Each app registers at start-up (`AppConfig.ready`):

    from grids.summary import register_summary_contributor, register_grid_layer
    register_summary_contributor("crm.customers", customers_summary)
    register_grid_layer("customers", customers_layer)

A summary contributor is `fn(*, grid, actor) -> dict`; its keys are merged into the summary
(crm gives `customers`, campaigns will give `open_tasks`, fieldwork `last_visit`). An app that is
not there contributes nothing, so its keys are simply absent.

A layer is `fn(*, grid, actor, params) -> list[LayerFeature]` (at most `limit` features; `params`
holds the layer's query parameters, e.g. `status`). Each provider applies its own data scope and
masking for `actor`; the grid itself is already in the actor's scope when it is called.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

LAYER_FEATURE_CAP = 5000


@dataclass(frozen=True)
class LayerFeature:
    """One point (or shape) of a grid's map layer, WGS-84."""

    id: Any
    geometry: Any  # GEOSGeometry, SRID 4326
    properties: dict[str, Any] = field(default_factory=dict)


_CONTRIBUTORS: dict[str, Callable[..., dict[str, Any]]] = {}
_LAYERS: dict[str, Callable[..., list[LayerFeature]]] = {}


def register_summary_contributor(name: str, fn: Callable[..., dict[str, Any]]) -> None:
    """Register (or replace) the summary contributor called `name`."""
    _CONTRIBUTORS[name] = fn


def unregister_summary_contributor(name: str) -> None:
    _CONTRIBUTORS.pop(name, None)


def summary_contributors() -> dict[str, Callable[..., dict[str, Any]]]:
    return dict(sorted(_CONTRIBUTORS.items()))


def register_grid_layer(name: str, fn: Callable[..., list[LayerFeature]]) -> None:
    """Register (or replace) the map layer called `name` (a URL segment: letters, digits, _ and -)."""
    _LAYERS[name] = fn


def unregister_grid_layer(name: str) -> None:
    _LAYERS.pop(name, None)


def grid_layers() -> dict[str, Callable[..., list[LayerFeature]]]:
    return dict(sorted(_LAYERS.items()))
