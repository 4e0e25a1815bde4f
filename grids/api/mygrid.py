"""REST API of "my grid" (GR-8): a grid's figures, the actor's own grids with theirs, and the grid's
points as map layers (customers from crm when it registered its layer, POIs, outlets).

Customer names are masked unless the viewer manages the customer (the crm layer does it); every
layer keeps to the actor's data scope, and the grid itself must be visible (404 otherwise).
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from grids import selectors
from grids.api import serializers as s
from grids.api.core import GRID_READ
from grids.api.fields import feature_collection, geojson_geometry, validated


class GridSummaryApi(APIView):
    """Area, customers formal/potential, POIs by category, outlets, responsible manager (and open
    tasks / last visit once those apps contribute)."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(responses=s.GridSummarySerializer)
    def get(self, request, pk: int):
        grid = selectors.grid_get(actor=request.user, pk=pk)
        return Response(selectors.grid_summary(actor=request.user, grid=grid))


class GridMineApi(APIView):
    """The actor's grids (open assignments), each with its summary."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(parameters=[s.CrsQuerySerializer], responses=s.GridMineSerializer(many=True))
    def get(self, request):
        crs = validated(s.CrsQuerySerializer, request.query_params)["crs"]
        grids = list(selectors.grids_mine(actor=request.user)[:100])
        features = s.GridFeatureSerializer(grids, many=True, context={"crs": crs}).data["features"]
        return Response([
            {"id": grid.pk, "grid": feature, "summary": selectors.grid_summary(actor=request.user, grid=grid)}
            for grid, feature in zip(grids, features)
        ])


class GridLayerApi(APIView):
    """One layer of a grid as GeoJSON points: `customers` (filter `status`), `pois` (filter
    `category`) or `outlets`; at most 5,000 features."""

    required_permissions = {"GET": GRID_READ}

    @extend_schema(
        parameters=[s.LayerQuerySerializer],
        responses={200: OpenApiResponse(description="GeoJSON FeatureCollection")},
    )
    def get(self, request, pk: int, layer: str):
        params = validated(s.LayerQuerySerializer, request.query_params)
        crs = params.pop("crs")
        grid = selectors.grid_get(actor=request.user, pk=pk)
        rows = selectors.grid_layer(actor=request.user, grid=grid, layer=layer, params=params)
        features = [
            {"type": "Feature", "id": row.id, "geometry": geojson_geometry(row.geometry, crs), "properties": row.properties}
            for row in rows
        ]
        return Response(feature_collection(features, layer=layer, grid_id=grid.pk))
