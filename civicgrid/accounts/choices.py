"""Roles of the four-level network (四级网络) and what each may do.

The capability table is the single source of truth: views, API handlers and querysets ask
`scope.can("registry.reveal")`, never compare role names.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_OFFICER = "district_officer", _("District officer")
    STREET_DISPATCHER = "street_dispatcher", _("Street dispatcher")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    GRID_WORKER = "grid_worker", _("Grid worker")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    HOTLINE_OPERATOR = "hotline_operator", _("Hotline operator")
    AUDITOR = "auditor", _("Auditor")
    RESIDENT = "resident", _("Resident")
    ADMINISTRATOR = "administrator", _("Administrator")


class UnitKind(models.TextChoices):
    DEPARTMENT = "department", _("Department")
    STREET = "street", _("Street office")
    COMMUNITY = "community", _("Community")
    COMPANY = "company", _("Property company")
    UTILITY = "utility", _("Utility")
    OTHER = "other", _("Other")


# Capabilities:
#   areas.view          see the area tree and map of the scope
#   areas.edit          create, change, merge, split areas; import boundaries
#   registry.view       list buildings, households, residents (masked)
#   registry.edit       create and import households and residents
#   registry.reveal     unmask one person's ID number or phone (audited)
#   registry.export     export lists to Excel (masked unless registry.reveal)
#   staff.assign        assign grid workers to grids
#   audit.view          search the audit log of the scope
#   cases.view          see cases in the scope (area subtree, or the user's units' cases)
#   cases.intake        take in a case (hotline form, patrol report)
#   cases.dispatch      dispatch, reassign, rule on returns, approve extensions, close, merge
#   cases.handle        accept, return, request extensions, resolve (for the user's own unit)
#   cases.supervise     supervise (督办) a case
#   cases.callback      record a callback (回访)
#   cases.whistle       blow the whistle (吹哨) and summon departments
#   cases.configure     categories, units, the dispatch catalogue, time-limit policies
_REGISTRY_ALL = {
    "registry.view",
    "registry.edit",
    "registry.reveal",
    "registry.export",
    "staff.assign",
}
_CASES_ALL = {
    "cases.view",
    "cases.intake",
    "cases.dispatch",
    "cases.handle",
    "cases.supervise",
    "cases.callback",
    "cases.whistle",
    "cases.configure",
}
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.DISTRICT_OFFICER: frozenset(
        {"areas.view", "areas.edit", "registry.view", "registry.export", "staff.assign"}
        | {
            "cases.view",
            "cases.intake",
            "cases.dispatch",
            "cases.supervise",
            "cases.callback",
            "cases.whistle",
            "cases.configure",
        }
    ),
    Role.STREET_DISPATCHER: frozenset(
        {"areas.view", "registry.view", "registry.export", "staff.assign"}
        | {
            "cases.view",
            "cases.intake",
            "cases.dispatch",
            "cases.supervise",
            "cases.callback",
            "cases.whistle",
        }
    ),
    Role.COMMUNITY_WORKER: frozenset(
        {"areas.view"} | _REGISTRY_ALL | {"cases.view", "cases.intake", "cases.whistle"}
    ),
    Role.GRID_WORKER: frozenset(
        {"areas.view", "registry.view", "registry.edit", "registry.reveal", "registry.export"}
        | {"cases.view", "cases.intake"}
    ),
    Role.DEPARTMENT_HANDLER: frozenset({"areas.view", "cases.view", "cases.handle"}),
    Role.HOTLINE_OPERATOR: frozenset(
        {"areas.view", "buildings.view", "cases.view", "cases.intake", "cases.callback"}
    ),
    Role.AUDITOR: frozenset({"areas.view", "audit.view", "cases.view"}),
    Role.RESIDENT: frozenset(),
    Role.ADMINISTRATOR: frozenset(
        {"areas.view", "areas.edit", "audit.view"} | _REGISTRY_ALL | _CASES_ALL
    ),
}

# Roles whose assignment must name an area (the others name a unit, or nothing).
AREA_ROLES = {
    Role.DISTRICT_OFFICER,
    Role.STREET_DISPATCHER,
    Role.COMMUNITY_WORKER,
    Role.GRID_WORKER,
    Role.HOTLINE_OPERATOR,
    Role.AUDITOR,
    Role.RESIDENT,
}
UNIT_ROLES = {Role.DEPARTMENT_HANDLER}
GLOBAL_ROLES = {Role.ADMINISTRATOR}
