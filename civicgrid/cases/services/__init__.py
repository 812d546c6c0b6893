"""Every transition of a case (接诉即办), and whistles (吹哨报到), as audited writes.

Each function runs in one transaction and follows the same steps (`_begin` / `_finish`):
1. the case must be visible to the actor (`Case.objects.visible_to`), else `Http404`, so a unit
   never learns that another unit's case exists;
2. the actor's role must carry the action's capability (`workflow.TRANSITIONS`), else
   `PermissionDeniedError`; unit actions (accept, return, extension, resolve) also need the
   actor to belong to the lead unit, co-handler replies to a co-handling unit;
3. the row is locked (`select_for_update`), the caller's `expected_version` compared (a stale
   form gets `ConflictError`), and `workflow.check` refuses an illegal transition
   (`IllegalTransition`) before anything is written;
4. the changes are saved with a compare-and-swap `UPDATE ... WHERE version = old` that bumps the
   version (SQLite ignores row locks, so the swap is what stops a second writer there); the
   timeline event (`CaseEvent`), the audit row, the deadlines (`sla`) and the outbox rows
   (`notifications`) are written in the same transaction.

`actor=None` is the system itself (automatic dispatch by a catalogue rule, a management
command): visibility and capability checks are skipped, the workflow table is not.

The functions live in submodules (steps.py, transitions.py, whistles.py); this package
re-exports them, so `from civicgrid.cases.services import ...` keeps working."""

from civicgrid.cases.services.steps import (  # noqa: F401
    _TRACKED,
    MIN_INVALID_REASON,
    ConflictError,
    _add_co,
    _begin,
    _check_capability,
    _check_lead_unit,
    _check_unit,
    _check_visible,
    _close,
    _finish,
    _in_unit,
    _json,
    _lock,
    _records,
    _require,
    _save,
    _set_lead,
    _Step,
    _sync,
)
from civicgrid.cases.services.transitions import (  # noqa: F401
    NewDispatch,
    _reopen,
    accept_case,
    add_co_handler,
    close_case,
    co_handler_reply,
    comment_case,
    decide_extension,
    dispatch_case,
    dispatch_new_case,
    invalidate_case,
    max_reopens,
    merge_case,
    reassign_case,
    record_callback,
    reopen_case,
    request_extension,
    resolve_case,
    resume_case,
    return_case,
    rule_on_return,
    supervise_case,
    suspend_case,
)
from civicgrid.cases.services.whistles import (  # noqa: F401
    _unit_users,
    blow_whistle,
    close_whistle,
    report_in,
)
