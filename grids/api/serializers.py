"""Input and output serializers of the grids API (core part: grids, editing, files, assignment,
liaisons, my grid). Inputs validate shape only; every rule lives in grids.services."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from gis_core.masking import mask_phone
from grids.choices import BusinessLine, GridKind, GridLevel, GridPost, GridStatus, LiaisonAction, LiaisonType, VirtualType
from grids.api.fields import (
    FEATURE_COLLECTION_SCHEMA,
    BBoxField,
    CrsField,
    GeoJSONInputField,
    OutputGeometryField,
)
from grids.fileio import EXPORT_FORMATS
from grids.models import Grid, GridAssignment, GridHistory, GridLiaison, GridTransfer

_STATUS_FILTER = [*GridStatus.choices, ("all", "all")]
CODE_FIELD = {"max_length": 40, "help_text": "unique grid code"}


# --- shared -----------------------------------------------------------------------------------------------
class RefSerializer(serializers.Serializer):
    """`{id, name}` of a related institution, grid or person."""

    id = serializers.IntegerField()
    name = serializers.CharField()


def person_ref(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name or user.username}


class CrsQuerySerializer(serializers.Serializer):
    crs = CrsField()


# --- grids ------------------------------------------------------------------------------------------------
class GridFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=GridKind.choices, required=False)
    level = serializers.ChoiceField(choices=GridLevel.choices, required=False)
    virtual_type = serializers.ChoiceField(choices=VirtualType.choices, required=False)
    parent = serializers.IntegerField(required=False, min_value=1)
    institution = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=_STATUS_FILTER, required=False, default=GridStatus.ACTIVE.value,
                                     help_text="active (default), retired or all")
    business_line = serializers.ChoiceField(choices=BusinessLine.choices, required=False, help_text="GR-3 view per business line")
    q = serializers.CharField(max_length=50, required=False, help_text="name or code contains")
    bbox = BBoxField()
    simplify = serializers.FloatField(required=False, min_value=0, max_value=1000, help_text="tolerance in metres")
    crs = CrsField()


class GridFeatureSerializer(GeoFeatureModelSerializer):
    """A grid as a GeoJSON feature (feature id = grid id)."""

    geom = OutputGeometryField(source="*")
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    institution = RefSerializer(read_only=True)
    responsible = serializers.SerializerMethodField()

    class Meta:
        model = Grid
        geo_field = "geom"
        id_field = "id"
        fields = [
            "id", "code", "name", "kind", "level", "virtual_type", "parent_id", "institution", "business_lines",
            "status", "version", "area_m2", "responsible", "rating_grade",
        ]

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_responsible(self, obj: Grid) -> dict[str, Any] | None:
        if getattr(obj, "responsible_id", None):
            return {"id": obj.responsible_id, "name": obj.responsible_name}
        return None


class GridDetailSerializer(GridFeatureSerializer):
    """One grid with its description and times."""

    parent_name = serializers.CharField(source="parent.name", default=None, read_only=True)
    division_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(GridFeatureSerializer.Meta):
        fields = [
            *GridFeatureSerializer.Meta.fields, "parent_name", "division_id", "description", "rating_score",
            "created_at", "updated_at",
        ]


class GridCreateSerializer(serializers.Serializer):
    geometry = GeoJSONInputField()
    crs = CrsField()
    kind = serializers.ChoiceField(choices=GridKind.choices)
    level = serializers.ChoiceField(choices=GridLevel.choices, required=False, allow_blank=True, default="")
    virtual_type = serializers.ChoiceField(choices=VirtualType.choices, required=False, allow_blank=True, default="")
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    code = serializers.CharField(**CODE_FIELD)
    name = serializers.CharField(max_length=100)
    business_lines = serializers.ListField(child=serializers.ChoiceField(choices=BusinessLine.choices), required=False, default=list)
    institution = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="owner; default: yours")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class GridUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="the version the edit is based on (409 if stale)")
    geometry = GeoJSONInputField(required=False)
    crs = CrsField()
    name = serializers.CharField(max_length=100, required=False)
    code = serializers.CharField(required=False, **CODE_FIELD)
    business_lines = serializers.ListField(child=serializers.ChoiceField(choices=BusinessLine.choices), required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    institution = serializers.IntegerField(required=False, min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class GridRetireSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class GridSplitSerializer(serializers.Serializer):
    line = GeoJSONInputField(help_text="GeoJSON LineString drawn across the grid")
    crs = CrsField()
    version = serializers.IntegerField(min_value=1)
    names = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list, max_length=20)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class GridMergeSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=2, max_length=50,
                                help_text="the first one stays; the others retire into it")
    versions = serializers.DictField(child=serializers.IntegerField(min_value=1), help_text="{grid id: version}")
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    crs = CrsField()

    def validate_versions(self, value: dict[str, int]) -> dict[int, int]:
        try:
            return {int(k): v for k, v in value.items()}
        except (TypeError, ValueError):
            raise serializers.ValidationError("keys must be grid ids") from None


class GridValidateSerializer(serializers.Serializer):
    geometry = GeoJSONInputField()
    crs = CrsField()
    kind = serializers.ChoiceField(choices=GridKind.choices, required=False, help_text="default: the excluded grid's")
    level = serializers.ChoiceField(choices=GridLevel.choices, required=False, allow_blank=True)
    virtual_type = serializers.ChoiceField(choices=VirtualType.choices, required=False, allow_blank=True)
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    exclude = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="the grid being edited")


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    location = serializers.DictField(allow_null=True, help_text="{lng, lat} in the request's crs")
    details = serializers.DictField()


@extend_schema_field(FEATURE_COLLECTION_SCHEMA)
class FeatureCollectionField(serializers.JSONField):
    """A GeoJSON FeatureCollection built by the view."""


class GridValidateResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    problems = ProblemSerializer(many=True)
    overlaps = FeatureCollectionField()


class GridHistorySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    action_label = serializers.CharField(source="get_action_display")
    geometry_changed = serializers.SerializerMethodField()

    class Meta:
        model = GridHistory
        fields = ["id", "version", "action", "action_label", "before", "after", "reason", "actor", "geometry_changed", "created_at"]

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_actor(self, obj: GridHistory) -> dict[str, Any] | None:
        return person_ref(obj.actor)

    def get_geometry_changed(self, obj: GridHistory) -> bool:
        return obj.geom_after is not None


class CoverageOverlapSerializer(serializers.Serializer):
    id_a = serializers.IntegerField()
    id_b = serializers.IntegerField()
    area_m2 = serializers.FloatField()


class GridCoverageSerializer(serializers.Serializer):
    grid_id = serializers.IntegerField()
    children = serializers.IntegerField()
    covered_ratio = serializers.FloatField()
    gap_area_m2 = serializers.FloatField()
    gaps = FeatureCollectionField()
    overlaps = FeatureCollectionField()


class GridTreeQuerySerializer(serializers.Serializer):
    parent = serializers.IntegerField(required=False, min_value=1, help_text="children of this grid; roots if absent")
    q = serializers.CharField(required=False, max_length=50, help_text="name or code contains (searches the whole tree)")
    status = serializers.ChoiceField(choices=_STATUS_FILTER, required=False, default=GridStatus.ACTIVE.value)


class GridAncestorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class GridTreeNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="grid.id")
    code = serializers.CharField(source="grid.code")
    name = serializers.CharField(source="grid.name")
    kind = serializers.CharField(source="grid.kind")
    level = serializers.CharField(source="grid.level")
    virtual_type = serializers.CharField(source="grid.virtual_type")
    status = serializers.CharField(source="grid.status")
    parent_id = serializers.IntegerField(source="grid.parent_id", allow_null=True)
    child_count = serializers.IntegerField()
    ancestors = GridAncestorSerializer(many=True)


# --- files ------------------------------------------------------------------------------------------------
class GridImportSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="GeoJSON, zipped Shapefile, KML or GeoPackage, at most 50 MB")
    crs = CrsField(help_text="datum of the file's coordinates: wgs84 (default), gcj02 or bd09")
    kind = serializers.ChoiceField(choices=GridKind.choices)
    level = serializers.ChoiceField(choices=GridLevel.choices, required=False, allow_blank=True, default="")
    virtual_type = serializers.ChoiceField(choices=VirtualType.choices, required=False, allow_blank=True, default="")
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    institution = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    business_lines = serializers.ListField(child=serializers.ChoiceField(choices=BusinessLine.choices), required=False, default=list)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class GridImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())


class GridExportQuerySerializer(serializers.Serializer):
    fmt = serializers.ChoiceField(choices=[(f, f) for f in EXPORT_FORMATS], default="geojson")
    crs = CrsField()
    parent = serializers.IntegerField(required=False, min_value=1)
    kind = serializers.ChoiceField(choices=GridKind.choices, required=False)
    level = serializers.ChoiceField(choices=GridLevel.choices, required=False)
    virtual_type = serializers.ChoiceField(choices=VirtualType.choices, required=False)
    status = serializers.ChoiceField(choices=_STATUS_FILTER, required=False, default=GridStatus.ACTIVE.value)
    business_line = serializers.ChoiceField(choices=BusinessLine.choices, required=False)
    institution = serializers.IntegerField(required=False, min_value=1)


# --- assignment, transfer, liaisons ---------------------------------------------------------------------
class AssignmentSerializer(serializers.ModelSerializer):
    person = serializers.SerializerMethodField()
    post_label = serializers.CharField(source="get_post_display")
    assigned_by = serializers.SerializerMethodField()
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = GridAssignment
        fields = ["id", "grid_id", "post", "post_label", "person", "responsibility", "starts_on", "ends_on", "is_open",
                  "assigned_by", "created_at"]

    @extend_schema_field(RefSerializer)
    def get_person(self, obj: GridAssignment) -> dict[str, Any] | None:
        return person_ref(obj.person)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_assigned_by(self, obj: GridAssignment) -> dict[str, Any] | None:
        return person_ref(obj.assigned_by)

    def get_is_open(self, obj: GridAssignment) -> bool:
        return obj.ends_on is None


class AssignmentCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField(min_value=1)
    post = serializers.ChoiceField(choices=GridPost.choices, default=GridPost.RESPONSIBLE.value)
    responsibility = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    starts_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class TransferCreateSerializer(serializers.Serializer):
    to_user = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class TransferSerializer(serializers.ModelSerializer):
    from_user = serializers.SerializerMethodField()
    to_user = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()

    class Meta:
        model = GridTransfer
        fields = ["id", "grid_id", "from_user", "to_user", "actor", "reason", "moved", "created_at"]

    @extend_schema_field(RefSerializer)
    def get_from_user(self, obj: GridTransfer) -> dict[str, Any] | None:
        return person_ref(obj.from_user)

    @extend_schema_field(RefSerializer)
    def get_to_user(self, obj: GridTransfer) -> dict[str, Any] | None:
        return person_ref(obj.to_user)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_actor(self, obj: GridTransfer) -> dict[str, Any] | None:
        return person_ref(obj.actor)


class LiaisonSerializer(serializers.ModelSerializer):
    """A liaison; the phone is masked (SEC-5)."""

    phone = serializers.SerializerMethodField()
    liaison_type_label = serializers.CharField(source="get_liaison_type_display")
    user = serializers.SerializerMethodField()

    class Meta:
        model = GridLiaison
        fields = ["id", "grid_id", "name", "liaison_type", "liaison_type_label", "organisation", "phone",
                  "allowed_actions", "user", "is_active", "created_at"]

    def get_phone(self, obj: GridLiaison) -> str:
        return mask_phone(obj.phone)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_user(self, obj: GridLiaison) -> dict[str, Any] | None:
        return person_ref(obj.user)


class LiaisonCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    liaison_type = serializers.ChoiceField(choices=LiaisonType.choices)
    organisation = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    phone = serializers.RegexField(r"^(1\d{10})?$", required=False, allow_blank=True)
    allowed_actions = serializers.ListField(child=serializers.ChoiceField(choices=LiaisonAction.choices), required=False, default=list)
    user = serializers.IntegerField(required=False, allow_null=True, min_value=1, help_text="their platform account, if any")


class LiaisonUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    liaison_type = serializers.ChoiceField(choices=LiaisonType.choices, required=False)
    organisation = serializers.CharField(required=False, allow_blank=True, max_length=100)
    phone = serializers.RegexField(r"^1\d{10}$", required=False, allow_blank=True)
    allowed_actions = serializers.ListField(child=serializers.ChoiceField(choices=LiaisonAction.choices), required=False)
    is_active = serializers.BooleanField(required=False)


# --- my grid ----------------------------------------------------------------------------------------------
class PoiCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_category = serializers.DictField(child=serializers.IntegerField())


class OutletSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class OutletsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    items = OutletSerializer(many=True)


class CustomerCountsSerializer(serializers.Serializer):
    formal = serializers.IntegerField()
    potential = serializers.IntegerField()
    total = serializers.IntegerField()


class GridSummarySerializer(serializers.Serializer):
    """The figures of one grid (GR-8). `customers`, `open_tasks` and `last_visit` come from the apps
    that register a contributor (grids.summary) and are absent while those apps are not there."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    level = serializers.CharField()
    virtual_type = serializers.CharField()
    status = serializers.CharField()
    area_m2 = serializers.FloatField()
    area_km2 = serializers.FloatField()
    responsible = RefSerializer(allow_null=True)
    children = serializers.IntegerField()
    pois = PoiCountsSerializer()
    outlets = OutletsSerializer()
    customers = CustomerCountsSerializer(required=False)
    open_tasks = serializers.IntegerField(required=False)
    last_visit = serializers.DictField(required=False)


class GridMineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    grid = GridFeatureSerializer()
    summary = GridSummarySerializer()


class LayerQuerySerializer(serializers.Serializer):
    crs = CrsField()
    status = serializers.CharField(required=False, max_length=16, help_text="customers: formal or potential")
    category = serializers.CharField(required=False, max_length=24, help_text="pois: a POI category")
