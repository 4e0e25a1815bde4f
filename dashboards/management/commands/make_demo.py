"""`python manage.py make_demo --customers N`: the deterministic Changsha demo bank.

Lives in dashboards because it spans every domain app (dashboards may depend on all of them).
Each app builds its own part through its services; this command only orders them.
"""
from django.core.management.base import BaseCommand, CommandError

from crm.services import customer_demo_generate
from gis_core.errors import ApplicationError
from gis_core.services.demo import DEMO_PASSWORD, demo_logins, demo_organisation_build
from grids.services.demo import demo_grids_build


class Command(BaseCommand):
    help = "Create the demo institutions, staff for every role and N customers (idempotent, seeded)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300, help="number of demo customers (default 300)")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--list-logins", action="store_true", help="only print the demo logins")

    def handle(self, *args, customers: int, seed: int, list_logins: bool, **options):
        if list_logins:
            for login in demo_logins():
                self.stdout.write(f"{login.username:<14} {login.role:<16} {login.display_name}")
            return
        if customers < 0 or customers > 2_000_000:
            raise CommandError("--customers must be between 0 and 2,000,000")
        try:
            org = demo_organisation_build(seed=seed)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        added = customer_demo_generate(count=customers, seed=seed)
        try:
            grids = demo_grids_build(seed=seed)  # after the customers, so they are placed into grids
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            f"==> demo: {org['institutions']} institutions, {org['users_created']} new users, "
            f"{added} new customers (target {customers}); demo password: {DEMO_PASSWORD}"
        )
        self.stdout.write(
            f"==> demo grids: {grids['city']} city, {grids['district']} districts, {grids['street']} streets, "
            f"{grids['community']} communities ({grids['created']} new, {grids['assigned']} newly assigned)"
        )
