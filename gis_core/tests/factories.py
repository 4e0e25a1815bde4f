"""factory_boy factories for gis_core: institutions (a valid tree) and users with roles."""
from __future__ import annotations

import factory
from django.contrib.gis.geos import Point
from django.utils import timezone

from gis_core.choices import InstitutionKind
from gis_core.models import Institution, Role, User

DEFAULT_PASSWORD = "Grid@2026pass"


class InstitutionFactory(factory.django.DjangoModelFactory):
    """Creates institutions through the service so that `path` and `depth` are right."""

    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"T{n:05d}")
    name = factory.Sequence(lambda n: f"测试机构{n}")
    kind = InstitutionKind.HEAD_OFFICE
    parent = None
    address = "湖南省长沙市芙蓉区"
    location = factory.LazyFunction(lambda: Point(112.98, 28.19, srid=4326))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from gis_core.services.organisation import institution_create

        return institution_create(actor=None, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a known password, usable at once (no forced change) unless told otherwise.

    `roles=["leader"]` assigns roles by code.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"员工{n}")
    employee_no = factory.Sequence(lambda n: f"E{n:06d}")
    institution = factory.SubFactory(InstitutionFactory)
    is_active = True
    must_change_password = False
    password_changed_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            self.save()
            if extracted:
                self.roles.set(Role.objects.filter(code__in=list(extracted)))
            self._role_codes = None
