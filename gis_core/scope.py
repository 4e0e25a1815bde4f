"""The data-scope layer (ORG-2, 分级权限): every read in the platform goes through here.

A user sees only what belongs to their institution's subtree. Each scoped model names the path
from itself to an `Institution` in `scope_institution_field` ("" for Institution itself) and uses
`ScopedManager`; selectors then read with `Model.objects.for_actor(actor)`.

Fails closed: anonymous, inactive, institution-less or unpermitted actors get an empty queryset,
and `get_in_scope()` raises `NotFound` (404) for an object that exists outside the scope, so
nothing tells a user that it exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

from gis_core.errors import NotFound

if TYPE_CHECKING:
    from gis_core.models import User

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class DataScope:
    """What one actor may see: the materialised path of their institution (a prefix of every
    institution path under it). `None` means nothing at all."""

    institution_path: str | None

    @property
    def is_empty(self) -> bool:
        return self.institution_path is None


def data_scope_for(actor: Any) -> DataScope:
    """The actor's scope. Anonymous, inactive or institution-less users see nothing."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return DataScope(None)
    institution = getattr(actor, "institution", None)
    if institution is None or not institution.is_active:
        return DataScope(None)
    return DataScope(institution.path)


def institution_path_lookup(model: type[models.Model]) -> str:
    """The ORM lookup from `model` to the institution path, e.g. `actor__institution__path`."""
    field = getattr(model, "scope_institution_field", None)
    if field is None:
        raise TypeError(f"{model.__name__} declares no scope_institution_field; it cannot be scoped")
    return f"{field}__path" if field else "path"


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows how to restrict itself to an actor's data scope."""

    def for_actor(self, actor: Any, *, perm: str | None = None) -> "ScopedQuerySet":
        """Rows the actor may see; `perm` (a declared permission code) is checked first."""
        if perm is not None and not (getattr(actor, "is_authenticated", False) and actor.has_perm_code(perm)):
            return self.none()
        scope = data_scope_for(actor)
        if scope.is_empty:
            return self.none()
        return self.filter(**{f"{institution_path_lookup(self.model)}__startswith": scope.institution_path})

    def get_in_scope(self, actor: Any, *, perm: str | None = None, **lookup: Any) -> Any:
        """One row inside the actor's scope, else `NotFound` (whether it exists elsewhere or not)."""
        try:
            return self.for_actor(actor, perm=perm).get(**lookup)
        except (self.model.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    """Default manager of every institution-owned model."""


def in_scope(actor: "User", institution_path: str) -> bool:
    """True when an institution with this path lies inside the actor's scope."""
    scope = data_scope_for(actor)
    return not scope.is_empty and institution_path.startswith(scope.institution_path)
