"""Permissions declared by grids (see gis_core.permissions)."""
from enum import StrEnum

from gis_core.choices import RoleCode


class Perm(StrEnum):
    GRID_VIEW_SUBTREE = "grids.grid.view_subtree"  # every grid of the institution subtree
    GRID_VIEW_OWN = "grids.grid.view_own"  # only grids one is assigned to
    GRID_EDIT = "grids.grid.edit"  # draw, split, merge, retire, import, generate
    GRID_ASSIGN = "grids.grid.assign"  # assign and transfer
    GRID_RATE = "grids.grid.rate"  # configure and run ratings
    GRID_EXPORT = "grids.grid.export"
    LIAISON_MANAGE = "grids.liaison.manage"


_READ_ALL = {Perm.GRID_VIEW_SUBTREE, Perm.GRID_EXPORT}

GRANTS: dict[str, set[str]] = {
    RoleCode.LEADER: _READ_ALL,
    RoleCode.ANALYST: _READ_ALL,
    RoleCode.BRANCH_MANAGER: _READ_ALL | {Perm.GRID_EDIT, Perm.GRID_ASSIGN, Perm.GRID_RATE, Perm.LIAISON_MANAGE},
    RoleCode.ACCOUNT_MANAGER: {Perm.GRID_VIEW_OWN},
    RoleCode.GRID_LIAISON: {Perm.GRID_VIEW_OWN},
}
