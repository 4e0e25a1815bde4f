"""Colours of grids on every map (editor, "my grid", dashboards), in one place.

Physical levels go from dark to light as they go down the hierarchy so that a parent's outline
stays readable under its children; virtual types use hues none of the levels use. Like
`gis_core.map_style`, no pure red/green pairs (red is kept for problems and overlaps).
"""
from __future__ import annotations

from grids.choices import GridLevel, VirtualType

LEVEL_COLOURS: dict[str, str] = {
    GridLevel.CITY: "#1d3347",
    GridLevel.DISTRICT: "#2f6fb3",
    GridLevel.STREET: "#0f7b55",
    GridLevel.COMMUNITY: "#c8962e",
    GridLevel.BUILDING: "#7f3c8d",
}

VIRTUAL_TYPE_COLOURS: dict[str, str] = {
    VirtualType.INDUSTRIAL_PARK: "#4e79a7",
    VirtualType.BUSINESS_DISTRICT: "#f28e2b",
    VirtualType.VERTICAL_INDUSTRY: "#b07aa1",
    VirtualType.SUPPLY_CHAIN: "#76b7b2",
    VirtualType.ENTERPRISE: "#9c755f",
}
