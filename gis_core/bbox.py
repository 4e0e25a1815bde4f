"""The platform's one bounding-box type (STYLE rule 5): `xmin, ymin, xmax, ymax`, lng/lat degrees.

Why this module exists: bounding boxes arrive from map viewports, tile requests and exports, and
the classic bugs are a swapped axis order or a box in the wrong datum. Everything that accepts a
bbox parses it here, once, into a `BBox` (longitude first, like GeoJSON), validates it (SEC-7) and,
when the client works in GCJ-02 or BD-09, brings it back to the WGS-84 we store (GC-1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from gis_core.crs import CRS, convert_point
from gis_core.errors import ValidationFailed

BBOX_INVALID = "bbox_invalid"


@dataclass(frozen=True)
class BBox:
    """An axis-aligned box in degrees: `xmin, ymin, xmax, ymax` (west, south, east, north)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    def __post_init__(self) -> None:
        values = (self.xmin, self.ymin, self.xmax, self.ymax)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise ValidationFailed(_("范围（bbox）须为四个数字"), code=BBOX_INVALID)
        if not (-180 <= self.xmin <= 180 and -180 <= self.xmax <= 180):
            raise ValidationFailed(_("范围（bbox）的经度须在 -180 到 180 之间"), code=BBOX_INVALID)
        if not (-90 <= self.ymin <= 90 and -90 <= self.ymax <= 90):
            raise ValidationFailed(_("范围（bbox）的纬度须在 -90 到 90 之间"), code=BBOX_INVALID)
        if not (self.xmin < self.xmax and self.ymin < self.ymax):
            raise ValidationFailed(_("范围（bbox）须满足 xmin < xmax 且 ymin < ymax"), code=BBOX_INVALID)

    @classmethod
    def parse(cls, text: Any) -> BBox:
        """Parse `"xmin,ymin,xmax,ymax"`; raises ValidationFailed(code="bbox_invalid") otherwise."""
        if not isinstance(text, str) or len(text) > 200:
            raise ValidationFailed(_("范围（bbox）格式应为 xmin,ymin,xmax,ymax"), code=BBOX_INVALID)
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValidationFailed(_("范围（bbox）格式应为 xmin,ymin,xmax,ymax"), code=BBOX_INVALID)
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValidationFailed(_("范围（bbox）须为四个数字"), code=BBOX_INVALID) from None
        return cls(*values)

    def to_wgs84(self, src: CRS) -> BBox:
        """The box converted from `src` to WGS-84: the envelope of its four converted corners.

        The GCJ-02/BD-09 offsets vary slowly (metres per kilometre), so the corners are enough.
        """
        if src == CRS.WGS84:
            return self
        corners = [
            convert_point(x, y, src=src, dst=CRS.WGS84)
            for x, y in ((self.xmin, self.ymin), (self.xmin, self.ymax), (self.xmax, self.ymin), (self.xmax, self.ymax))
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return BBox(max(min(xs), -180.0), max(min(ys), -90.0), min(max(xs), 180.0), min(max(ys), 90.0))

    def as_polygon(self):
        """A GEOS polygon with SRID 4326 for spatial filters."""
        from django.contrib.gis.geos import Polygon

        polygon = Polygon.from_bbox((self.xmin, self.ymin, self.xmax, self.ymax))
        polygon.srid = 4326
        return polygon

    def as_list(self) -> list[float]:
        return [self.xmin, self.ymin, self.xmax, self.ymax]
