# covers: issue-2 items 7 and 8 (load_changsha + make_demo, idempotent and deterministic)
"""`load_changsha` then `make_demo` as `make demo` runs them: twice, same result."""
import io

import pytest
from django.core.management import call_command

from crm.models import Customer
from gis_core.choices import InstitutionKind, RoleCode
from gis_core.models import Institution, User
from gis_core.services.demo import DEMO_PASSWORD, demo_logins
from gis_core.validators import resident_id_problem


@pytest.mark.django_db
def test_make_demo_twice_gives_the_same_bank():
    call_command("load_changsha", stdout=io.StringIO())
    call_command("make_demo", customers=120, stdout=io.StringIO())
    first = (Institution.objects.count(), User.objects.count(), Customer.objects.count())
    call_command("make_demo", customers=120, stdout=io.StringIO())
    assert (Institution.objects.count(), User.objects.count(), Customer.objects.count()) == first
    assert Customer.objects.count() == 120
    assert Institution.objects.filter(kind=InstitutionKind.BRANCH).count() == 6
    assert Institution.objects.filter(kind=InstitutionKind.SUB_BRANCH).count() >= 6
    # every role has a demo login that works with the documented password
    roles = {login.role for login in demo_logins()}
    assert roles == set(RoleCode.values)
    leader = User.objects.get(username="leader")
    assert leader.check_password(DEMO_PASSWORD) and leader.has_role(RoleCode.LEADER)
    # customers: realistic and placed where their institution is
    individual = Customer.objects.filter(kind="individual").first()
    assert resident_id_problem(individual.id_number) is None
    assert individual.address.startswith("湖南省长沙市")
    assert Customer.objects.filter(location__isnull=True).count() == 0
    assert all(c.institution.code.startswith("CS") for c in Customer.objects.select_related("institution")[:50])


def test_list_logins_prints_every_demo_account():
    out = io.StringIO()
    call_command("make_demo", list_logins=True, stdout=out)
    assert {line.split()[0] for line in out.getvalue().splitlines()} == {login.username for login in demo_logins()}
