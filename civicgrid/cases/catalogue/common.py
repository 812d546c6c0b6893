"""What every part of the catalogue package shares: limits, the code pattern, the complexity\nwords of spreadsheets, and the `cases.configure` checks (`actor=None` is the system)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import gettext as _

from civicgrid.areas.models import Area
from civicgrid.cases.choices import Complexity
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

MAX_CATEGORY_LEVEL = 3
MAX_UNIT_DEPTH = 3
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
# Spreadsheet words for the complexity column, besides the stored values.
COMPLEXITY_WORDS = {
    "": Complexity.ORDINARY,
    "普通": Complexity.ORDINARY,
    "一般": Complexity.ORDINARY,
    "复杂": Complexity.COMPLEX,
    "疑难": Complexity.COMPLEX,
    Complexity.ORDINARY.value: Complexity.ORDINARY,
    Complexity.COMPLEX.value: Complexity.COMPLEX,
}
Action = AuditEntry.Action


def _require(actor) -> None:
    # `actor=None` is the system itself (management commands, the demo loader): trusted code
    # with no user behind it, audited without an actor. Views always pass the signed-in user.
    if actor is None:
        return
    if not scope_of(actor).can("cases.configure"):
        raise PermissionDeniedError(_("You may not change the case configuration."))


def _require_area(actor, area: Area, field_name: str = "area") -> None:
    if actor is not None and not scope_of(actor).covers_path(area.path, "cases.configure"):
        # An area outside the scope is as good as missing.
        raise ServiceError(_("Choose an area in your scope."), field_name)


def _covers_all(actor, areas: Iterable[Area]) -> bool:
    if actor is None:
        return True
    scope = scope_of(actor)
    return all(scope.covers_path(a.path, "cases.configure") for a in areas)
