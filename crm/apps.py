from django.apps import AppConfig


def grid_customers_summary(*, grid, actor) -> dict:
    """"My grid" contributor (grids.summary): the grid's customers in the actor's scope, formal and
    potential (placed by the membership columns of the grid's level, by geometry for virtual grids)."""
    from django.db.models import Count

    from crm.models import Customer
    from crm.services import customers_in_grid

    rows = (customers_in_grid(grid) & Customer.objects.for_actor(actor)).order_by().values("status").annotate(n=Count("id"))
    counts = {row["status"]: row["n"] for row in rows}
    formal, potential = counts.get("formal", 0), counts.get("potential", 0)
    return {"customers": {"formal": formal, "potential": potential, "total": formal + potential}}


def grid_customers_layer(*, grid, actor, params) -> list:
    """"My grid" layer `customers` (grids.summary): points of the grid's customers in the actor's
    scope; names masked unless the viewer manages the customer (SEC-5). `params["status"]` filters."""
    from crm.models import Customer
    from crm.services import customers_in_grid
    from gis_core.masking import mask_name
    from grids.summary import LAYER_FEATURE_CAP, LayerFeature

    qs = (customers_in_grid(grid) & Customer.objects.for_actor(actor)).filter(location__isnull=False)
    if params.get("status"):
        qs = qs.filter(status=params["status"])
    return [
        LayerFeature(c.pk, c.location, {
            "name": c.name if c.manager_id == actor.pk else mask_name(c.name), "status": c.status, "kind": c.kind,
            "mine": c.manager_id == actor.pk,
        })
        for c in qs.only("id", "name", "status", "kind", "location", "manager_id").order_by("id")[:LAYER_FEATURE_CAP]
    ]


class CrmConfig(AppConfig):
    """Customers (客户): customers, archives, list imports, segments, tags, reminders (CR-*)."""

    name = "crm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.models import Customer
        from crm.services import customers_transfer_for_grid
        from grids.membership import PointTable, register_point_table
        from grids.transfer import register_transfer_participant

        register_point_table(
            PointTable(
                key="crm.customer", model=Customer, geom_field="location",
                level_fields={"district": "grid_district", "street": "grid_street", "community": "grid_community", "building": "grid_building"},
            )
        )
        register_transfer_participant("crm.customers", customers_transfer_for_grid)
        from grids.summary import register_grid_layer, register_summary_contributor

        register_summary_contributor("crm.customers", grid_customers_summary)
        register_grid_layer("customers", grid_customers_layer)
