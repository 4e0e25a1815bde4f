"""Permissions declared by crm (see gis_core.permissions)."""
from enum import StrEnum

from gis_core.choices import RoleCode


class Perm(StrEnum):
    CUSTOMER_VIEW_SUBTREE = "crm.customer.view_subtree"  # every customer of the institution subtree
    CUSTOMER_VIEW_OWN = "crm.customer.view_own"  # customers one manages or that lie in one's grids
    CUSTOMER_EDIT = "crm.customer.edit"  # create, edit, archive, move pins
    CUSTOMER_ASSIGN = "crm.customer.assign"  # batch assignment to a manager or grid
    CUSTOMER_IMPORT = "crm.customer.import"  # list templates and imports
    CUSTOMER_EXPORT = "crm.customer.export"
    SEGMENT_VIEW = "crm.segment.view"
    SEGMENT_EDIT = "crm.segment.edit"
    SEGMENT_APPROVE = "crm.segment.approve"
    TAG_MANAGE = "crm.tag.manage"
    CATALOGUE_MANAGE = "crm.catalogue.manage"  # products, archive templates
    REMINDER_VIEW = "crm.reminder.view"


GRANTS: dict[str, set[str]] = {
    RoleCode.LEADER: {Perm.CUSTOMER_VIEW_SUBTREE, Perm.CUSTOMER_EXPORT, Perm.SEGMENT_VIEW, Perm.SEGMENT_APPROVE},
    RoleCode.ANALYST: {Perm.CUSTOMER_VIEW_SUBTREE, Perm.CUSTOMER_EXPORT, Perm.SEGMENT_VIEW, Perm.SEGMENT_EDIT},
    RoleCode.BRANCH_MANAGER: {
        Perm.CUSTOMER_VIEW_SUBTREE, Perm.CUSTOMER_EDIT, Perm.CUSTOMER_ASSIGN, Perm.CUSTOMER_IMPORT, Perm.CUSTOMER_EXPORT,
        Perm.SEGMENT_VIEW, Perm.SEGMENT_EDIT, Perm.SEGMENT_APPROVE, Perm.TAG_MANAGE, Perm.REMINDER_VIEW,
    },
    RoleCode.ACCOUNT_MANAGER: {
        Perm.CUSTOMER_VIEW_OWN, Perm.CUSTOMER_EDIT, Perm.CUSTOMER_IMPORT, Perm.SEGMENT_VIEW, Perm.SEGMENT_EDIT, Perm.REMINDER_VIEW,
    },
    RoleCode.SYSTEM_ADMIN: {Perm.CATALOGUE_MANAGE, Perm.TAG_MANAGE},
    RoleCode.GRID_LIAISON: {Perm.CUSTOMER_VIEW_OWN},
}
