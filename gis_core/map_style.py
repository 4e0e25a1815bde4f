"""Colours of the platform's own map layers, in one place for every map page and legend.

Why it exists: the basemap is the platform's own offline vector layers (GC-6), so the look of the
map is ours to keep consistent: the same POI category has the same colour on the home map, in
grid pages and in dashboards. Colours are chosen to be told apart on a light background and by
most colour-blind readers (Okabe-Ito and Tableau-like hues, no pure red/green pairs).
"""
from __future__ import annotations

from gis_core.choices import PoiCategory

POI_CATEGORY_COLOURS: dict[str, str] = {
    PoiCategory.BANK: "#0f7b55",
    PoiCategory.ATM: "#3fb58a",
    PoiCategory.RESIDENTIAL: "#e69f00",
    PoiCategory.SCHOOL: "#0072b2",
    PoiCategory.HOSPITAL: "#d55e00",
    PoiCategory.MARKET: "#cc79a7",
    PoiCategory.SHOP: "#b07aa1",
    PoiCategory.FOOD: "#f28e2b",
    PoiCategory.COMPANY: "#4e79a7",
    PoiCategory.GOVERNMENT: "#7f3c8d",
    PoiCategory.HOTEL: "#9c755f",
    PoiCategory.LEISURE: "#59a14f",
    PoiCategory.TRANSPORT: "#56b4e9",
    PoiCategory.OTHER: "#8c8c8c",
}

# Fill colours for the districts (county level), cycled by code order.
DISTRICT_PALETTE: list[str] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6",
]


def poi_category_legend() -> list[dict[str, str]]:
    """Every POI category with its (translated) label and colour, in declaration order."""
    return [
        {"value": c.value, "label": str(c.label), "colour": POI_CATEGORY_COLOURS[c]}
        for c in PoiCategory
    ]
