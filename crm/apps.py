from django.apps import AppConfig


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
