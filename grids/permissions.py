"""Permissions declared by grids (see gis_core.permissions). None yet."""
from enum import StrEnum


class Perm(StrEnum):
    pass


GRANTS: dict[str, set[str]] = {}
