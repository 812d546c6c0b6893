"""The cases API: intake, the queue, one case with its timeline, every workflow action,
duplicate candidates, category search, whistles, and the public endpoints (board, tracking,
submission and rating without login).

Handlers fetch through the caller's scope (`selectors`, `get_visible_or_404`) and hand every
write to `intake.receive_case` or `services`; they hold no rules. A refused transition or a
stale version is a 409; a hidden case is a 404 like a missing one.
"""

import json
import typing
from dataclasses import asdict

import pydantic
from django.conf import settings
from django.http import Http404
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.errors import HttpError, ValidationError
from ninja.pagination import paginate

from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases import (
    catalogue,
    duplicates,
    importers,
    intake,
    routing,
    selectors,
    services,
    workflow,
)
from civicgrid.cases.choices import Action, CallbackMethod, Channel, State
from civicgrid.cases.forms import too_large_message
from civicgrid.cases.models import Case, Extension, Summons, Whistle
from civicgrid.cases.schemas import (
    BoardFilter,
    BoardPage,
    CallbackIn,
    CaseDetail,
    CaseFilter,
    CaseImportOut,
    CaseImportRefused,
    CaseIn,
    CaseNotificationOut,
    CaseOut,
    CategoryOut,
    CommentIn,
    CreatedCase,
    DecideExtensionIn,
    DispatchIn,
    DuplicateOut,
    ExtensionIn,
    MergeIn,
    PublicCallbackIn,
    PublicCaseIn,
    PublicReceipt,
    ReasonIn,
    ReassignIn,
    ReplyIn,
    ReturnIn,
    RuleIn,
    SuperviseIn,
    TrackIn,
    TrackOut,
    UnitIn,
    Versioned,
    WhistleIn,
    WhistleOut,
    case_in_body,
)
from civicgrid.core.api import (
    ErrorOut,
    Mapped,
    Page,
    invalid,
    require,
    scope,
    visible_or_invalid,
)
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import Scope, get_visible_or_404, scope_of

router = Router(tags=["cases"])
public_router = Router(tags=["public"], auth=None)

NOT_FOUND = {404: ErrorOut}
REFUSED = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def install_error_handlers(api) -> None:
    """A stale version or an action the case's state does not allow is a conflict (409),
    with the service's message; the other refusals keep core's mapping (422/400/403)."""

    def conflict(request, exc):
        errors = [{"field": f, "message": m} for f, m in exc.errors.items()]
        return api.create_response(request, {"detail": exc.message, "errors": errors}, status=409)

    api.add_exception_handler(services.ConflictError, conflict)
    api.add_exception_handler(workflow.IllegalTransition, conflict)


# --- shaping --------------------------------------------------------------------------------


def _ref(obj) -> dict | None:
    if obj is None:
        return None
    return {"id": obj.pk, "code": getattr(obj, "code", ""), "name": obj.name}


def category_out(category) -> dict | None:
    if category is None:
        return None
    return {
        "id": category.pk,
        "code": category.code,
        "name": category.name,
        "level": category.level,
        "path": catalogue.category_path(category),
    }


def case_out(case: Case, caller: Scope, user) -> dict:
    return {
        "id": case.pk,
        "number": case.number,
        "channel": case.channel,
        "kind": case.kind,
        "category": category_out(case.category),
        "title": case.title,
        "state": case.state,
        "urgency": case.urgency,
        "lat": case.lat,
        "lon": case.lon,
        "address": case.address,
        "grid": _ref(case.grid),
        "locate_status": case.locate_status,
        "lead_unit": _ref(case.lead_unit),
        "received_at": case.received_at,
        "respond_due_at": case.respond_due_at,
        "resolve_due_at": case.resolve_due_at,
        "deadline_status": case.deadline_status,
        "supervised": case.supervised,
        "version": case.version,
        "reporter": selectors.masked_reporter(case, caller, user=user),
    }


def case_detail_out(case: Case, caller: Scope, user) -> dict:
    body = case_out(case, caller, user)
    body.update(
        description=case.description,
        reply=case.reply,
        invalid_reason=case.invalid_reason,
        parent_id=case.parent_id,
        accepted_at=case.accepted_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        reopen_count=case.reopen_count,
        return_count=case.return_count,
        tags=[t.code for t in case.tags.all()],
        allowed_actions=[
            action
            for action in workflow.allowed_actions(case.state)
            if caller.can(workflow.transition(action).capability)
        ],
        timeline=[
            {
                "id": e.pk,
                "at": e.at,
                "actor": str(e.actor) if e.actor else None,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "unit": _ref(e.unit),
                "reason": e.reason,
                # The fingerprint only tells retries apart; it means nothing to a reader.
                "data": {k: v for k, v in e.data.items() if k != "fingerprint"},
            }
            for e in selectors.timeline(case)
        ],
        handlers=[
            {
                "unit": _ref(h.unit),
                "role": h.role,
                "assigned_at": h.assigned_at,
                "reply": h.reply,
                "replied_at": h.replied_at,
                "active": h.active,
            }
            for h in case.handlers.select_related("unit").order_by("assigned_at", "id")
        ],
        callbacks=list(case.callbacks.all()),
        extensions=list(case.extensions.all()),
        attachments=[
            {"id": a.pk, "url": a.file.url, "content_type": a.content_type, "size": a.size}
            for a in case.attachments.order_by("id")
        ],
    )
    return body


def _case(request, case_id: int) -> Case:
    return selectors.case_detail(request.user, case_id)


def _detail(request, case_id: int) -> dict:
    case = _case(request, case_id)
    return case_detail_out(case, scope(request), request.user)


def _unit(pk: int, field: str) -> Unit:
    unit = Unit.objects.filter(pk=pk, is_active=True).first()
    if unit is None:
        raise invalid(field, "Not found.", "body")
    return unit


def _route(case: Case) -> dict:
    found = getattr(case, "route", None) or routing.route(case.category, case.grid)
    return {
        "units": [_ref(u) for u in found.units],
        "ambiguous": found.ambiguous,
        "auto": found.auto,
    }


# --- intake and reads -----------------------------------------------------------------------


def _case_in(request) -> tuple[CaseIn, list]:
    """The body of `POST /cases` and its photos: JSON (no photos), or a multipart form with
    the same fields (a list field repeated, an empty field left out) and files in `photos`.
    Bad fields are answered like any other body, field by field (422)."""
    if request.content_type == "multipart/form-data":
        data: dict = {}
        for name in request.POST:
            field = CaseIn.model_fields.get(name)
            values = request.POST.getlist(name)
            if field is not None and typing.get_origin(field.annotation) is list:
                data[name] = [v for v in values if v.strip()]
            elif values[-1] != "":
                data[name] = values[-1]
        photos, source = request.FILES.getlist("photos"), "form"
    else:
        try:
            data = json.loads(request.body or b"null")
        except ValueError as exc:
            raise HttpError(400, "The body is not valid JSON.") from exc
        photos, source = [], "body"
    try:
        return CaseIn.model_validate(data), photos
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise ValidationError([{**e, "loc": (source, *e["loc"])} for e in errors]) from exc


@router.post(
    "/cases",
    response={200: CreatedCase, 201: CreatedCase, **REFUSED},
    summary="Take in a case (any channel; Idempotency-Key makes retries safe; JSON, or a "
    "multipart form with photos)",
    openapi_extra=case_in_body(),
)
def create_case(request):
    payload, photos = _case_in(request)
    header = request.headers.get("Idempotency-Key") or None
    if header and payload.idempotency_key and header != payload.idempotency_key:
        raise invalid("idempotency_key", "Differs from the Idempotency-Key header.", "body")
    key = payload.idempotency_key or header
    case = intake.receive_case(
        actor=request.user,
        channel=payload.channel,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        category=payload.category,
        lat=payload.lat,
        lon=payload.lon,
        address=payload.address,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        anonymous=payload.anonymous,
        urgency=payload.urgency,
        tags=payload.tags,
        attachments=photos,
        idempotency_key=key,
    )
    body = case_out(case, scope(request), request.user)
    body["candidates"] = _route(case)
    return Status(200 if getattr(case, "replayed", False) else 201, body)


@router.post(
    "/cases/import",
    response={200: CaseImportOut, 403: ErrorOut, 422: CaseImportRefused | ErrorOut},
    summary="Import work orders from a legacy hotline CSV (needs cases.dispatch)",
)
def import_cases(
    request,
    file: File[UploadedFile],
    channel: Form[Channel] = Channel.HOTLINE,
    dry_run: Form[bool] = False,
):
    """All or nothing, through the same `importers.import_cases` as `manage.py import_cases`:
    a file with a refused row answers 422 with every refusal (row, column, reason) and writes
    nothing; an unreadable file (empty, wrong encoding, missing columns) is a 422 on `file`."""
    require(request, "cases.dispatch")
    if (file.size or 0) > settings.IMPORT_MAX_BYTES:
        raise ServiceError(too_large_message(), "file")
    report = importers.import_cases(
        file.read(),
        actor=request.user,
        channel=channel,
        dry_run=dry_run,
        file_name=file.name or "",
    )
    body = asdict(report)
    if report.errors:
        return Status(
            422,
            {
                "detail": "Nothing was imported: some rows were refused.",
                "errors": [
                    {"row": e.row, "field": e.column, "message": e.message} for e in report.errors
                ],
                "report": body,
            },
        )
    return body


@router.get("/cases", response=list[CaseOut], summary="The case queue of the caller's scope")
@paginate(Page)
def list_cases(request, filters: Query[CaseFilter]):
    caller = scope(request)
    area = None
    if filters.area is not None:
        area = get_visible_or_404(Area.objects.all(), request.user, pk=filters.area)
    cases = selectors.case_queue(
        request.user,
        state=filters.state,
        area=area,
        unit=filters.unit,
        category=filters.category,
        channel=filters.channel,
        due=filters.due,
        q=filters.q,
    )
    return Mapped(cases, lambda c: case_out(c, caller, request.user))


@router.get("/cases/inbox", response=list[CaseOut], summary="Open cases of the caller's own units")
@paginate(Page)
def inbox(request):
    caller = scope(request)
    return Mapped(selectors.unit_inbox(request.user), lambda c: case_out(c, caller, request.user))


@router.get(
    "/cases/{case_id}",
    response={200: CaseDetail, **NOT_FOUND},
    summary="One case with its timeline, units, callbacks and extensions",
)
def get_case(request, case_id: int):
    return _detail(request, case_id)


@router.get(
    "/cases/{case_id}/notifications",
    response={200: list[CaseNotificationOut], 403: ErrorOut, 404: ErrorOut},
    summary="What was sent about the case (needs cases.dispatch or cases.supervise)",
)
def case_notifications(request, case_id: int):
    case = _case(request, case_id)  # a hidden case is a 404 before the capability is asked
    return selectors.case_notifications(case, request.user)


@router.get(
    "/cases/{case_id}/duplicates",
    response={200: list[DuplicateOut], **NOT_FOUND},
    summary="Open cases that may be the same request (nearby, recent, similar text)",
)
def case_duplicates(request, case_id: int):
    case = _case(request, case_id)
    caller = scope(request)
    found = duplicates.find_candidates(
        lat=case.lat,
        lon=case.lon,
        text=f"{case.title} {case.description}",
        category=case.category,
        exclude=case,
        received_at=case.received_at,
    )
    # Only cases the caller may see: a candidate must not reveal a hidden case.
    visible = set(
        Case.objects.visible_to(request.user)
        .filter(pk__in=[c.case.pk for c in found])
        .values_list("pk", flat=True)
    )
    return [
        {
            "case": case_out(c.case, caller, request.user),
            "score": c.score,
            "distance_m": round(c.distance_m, 1),
            "reasons": c.reasons,
            "likely": c.likely,
        }
        for c in found
        if c.case.pk in visible
    ]


@router.get(
    "/categories",
    response=list[CategoryOut],
    summary="Search categories by name, keyword, code or pinyin (leaves first)",
)
def search_categories(request, q: str = "", limit: int = Query(20, ge=1, le=100)):
    return [category_out(c) for c in catalogue.search_categories(q, limit=limit)]


# --- workflow actions -----------------------------------------------------------------------


@router.post("/cases/{case_id}/dispatch", response={200: CaseDetail, **REFUSED}, summary="派单")
def dispatch(request, case_id: int, payload: DispatchIn):
    case = _case(request, case_id)
    services.dispatch_case(
        case,
        _unit(payload.unit, "unit"),
        actor=request.user,
        co_units=[_unit(pk, "co_units") for pk in payload.co_units],
        note=payload.note,
        expected_version=payload.expected_version,
    )
    return _detail(request, case_id)


@router.post("/cases/{case_id}/reassign", response={200: CaseDetail, **REFUSED}, summary="转派")
def reassign(request, case_id: int, payload: ReassignIn):
    case = _case(request, case_id)
    services.reassign_case(case, _unit(payload.unit, "unit"), actor=request.user, note=payload.note)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/accept", response={200: CaseDetail, **REFUSED}, summary="签收")
def accept(request, case_id: int, payload: Versioned | None = None):
    case = _case(request, case_id)
    version = payload.expected_version if payload is not None else None
    services.accept_case(case, actor=request.user, expected_version=version)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/return", response={200: CaseDetail, **REFUSED}, summary="退单")
def return_(request, case_id: int, payload: ReturnIn):
    case = _case(request, case_id)
    services.return_case(
        case, actor=request.user, reason_code=payload.reason_code, reason=payload.reason
    )
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/rule",
    response={200: CaseDetail, **REFUSED},
    summary="审定 (rule on a return)",
)
def rule(request, case_id: int, payload: RuleIn):
    case = _case(request, case_id)
    services.rule_on_return(
        case, _unit(payload.unit, "unit"), actor=request.user, note=payload.note
    )
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/extensions", response={200: CaseDetail, **REFUSED}, summary="申请延期"
)
def request_extension(request, case_id: int, payload: ExtensionIn):
    case = _case(request, case_id)
    services.request_extension(
        case,
        actor=request.user,
        reason=payload.reason,
        requested_due_at=payload.requested_due_at,
    )
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/extensions/{extension_id}/decide",
    response={200: CaseDetail, **REFUSED},
    summary="Approve or refuse an extension",
)
def decide_extension(request, case_id: int, extension_id: int, payload: DecideExtensionIn):
    case = _case(request, case_id)
    extension = Extension.objects.filter(pk=extension_id, case=case).first()
    if extension is None:
        raise Http404
    services.decide_extension(
        extension, actor=request.user, approve=payload.approve, note=payload.note
    )
    return _detail(request, case_id)


@router.post("/cases/{case_id}/suspend", response={200: CaseDetail, **REFUSED}, summary="挂起")
def suspend(request, case_id: int, payload: ReasonIn):
    services.suspend_case(_case(request, case_id), actor=request.user, reason=payload.reason)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/resume", response={200: CaseDetail, **REFUSED}, summary="恢复")
def resume(request, case_id: int):
    services.resume_case(_case(request, case_id), actor=request.user)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/supervise", response={200: CaseDetail, **REFUSED}, summary="督办")
def supervise(request, case_id: int, payload: SuperviseIn):
    services.supervise_case(
        _case(request, case_id),
        actor=request.user,
        reason=payload.reason,
        new_due_at=payload.new_due_at,
    )
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/co-handlers", response={200: CaseDetail, **REFUSED}, summary="Add 协办"
)
def add_co_handler(request, case_id: int, payload: UnitIn):
    case = _case(request, case_id)
    services.add_co_handler(case, _unit(payload.unit, "unit"), actor=request.user)
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/co-reply", response={200: CaseDetail, **REFUSED}, summary="协办 reply"
)
def co_reply(request, case_id: int, payload: ReplyIn):
    services.co_handler_reply(_case(request, case_id), actor=request.user, reply=payload.reply)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/resolve", response={200: CaseDetail, **REFUSED}, summary="办结")
def resolve(request, case_id: int, payload: ReplyIn):
    services.resolve_case(_case(request, case_id), actor=request.user, reply=payload.reply)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/callback", response={200: CaseDetail, **REFUSED}, summary="回访")
def callback(request, case_id: int, payload: CallbackIn):
    services.record_callback(
        _case(request, case_id),
        actor=request.user,
        method=payload.method,
        contacted=payload.contacted,
        solved=payload.solved,
        satisfaction=payload.satisfaction,
        note=payload.note,
    )
    return _detail(request, case_id)


@router.post("/cases/{case_id}/reopen", response={200: CaseDetail, **REFUSED}, summary="重办")
def reopen(request, case_id: int, payload: ReasonIn):
    services.reopen_case(_case(request, case_id), actor=request.user, reason=payload.reason)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/close", response={200: CaseDetail, **REFUSED}, summary="Close")
def close(request, case_id: int):
    services.close_case(_case(request, case_id), actor=request.user)
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/merge", response={200: CaseDetail, **REFUSED}, summary="合并 into another"
)
def merge(request, case_id: int, payload: MergeIn):
    case = _case(request, case_id)
    into = visible_or_invalid(Case.objects.all(), request.user, payload.into, "into")
    services.merge_case(case, into, actor=request.user, reason=payload.reason)
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/invalidate",
    response={200: CaseDetail, **REFUSED},
    summary="Close as invalid (不合理诉求)",
)
def invalidate(request, case_id: int, payload: ReasonIn):
    services.invalidate_case(_case(request, case_id), actor=request.user, reason=payload.reason)
    return _detail(request, case_id)


@router.post("/cases/{case_id}/comment", response={200: CaseDetail, **REFUSED}, summary="Comment")
def comment(request, case_id: int, payload: CommentIn):
    services.comment_case(_case(request, case_id), actor=request.user, text=payload.text)
    return _detail(request, case_id)


# --- whistles -------------------------------------------------------------------------------


def whistle_out(whistle: Whistle) -> dict:
    return {
        "id": whistle.pk,
        "area": _ref(whistle.area),
        "case_id": whistle.case_id,
        "site": whistle.site,
        "reason": whistle.reason,
        "blown_at": whistle.blown_at,
        "limit_minutes": whistle.limit_minutes,
        "closed_at": whistle.closed_at,
        "summonses": [
            {
                "id": s.pk,
                "unit": _ref(s.unit),
                "due_at": s.due_at,
                "reported_at": s.reported_at,
                "status": s.status,
            }
            for s in whistle.summonses.select_related("unit").order_by("id")
        ],
    }


@router.post("/whistles", response={201: WhistleOut, **REFUSED}, summary="吹哨: summon units")
def blow_whistle(request, payload: WhistleIn):
    area = visible_or_invalid(Area.objects.all(), request.user, payload.area, "area")
    case = None
    if payload.case is not None:
        case = visible_or_invalid(Case.objects.all(), request.user, payload.case, "case")
    whistle = services.blow_whistle(
        actor=request.user,
        area=area,
        units=[_unit(pk, "units") for pk in payload.units],
        reason=payload.reason,
        case=case,
        site=payload.site,
        limit_minutes=payload.limit_minutes,
    )
    return Status(201, whistle_out(whistle))


@router.post(
    "/summonses/{summons_id}/report-in",
    response={200: WhistleOut, **REFUSED},
    summary="报到: a summoned unit reports in",
)
def report_in(request, summons_id: int):
    caller = scope_of(request.user)
    summons = (
        Summons.objects.select_related("whistle", "whistle__area").filter(pk=summons_id).first()
    )
    # The summoned unit's people see it, and so does whoever sees the whistle's area.
    if summons is None or not (
        summons.unit_id in caller.unit_ids
        or Whistle.objects.visible_to(request.user).filter(pk=summons.whistle_id).exists()
    ):
        raise Http404
    services.report_in(summons, actor=request.user)
    return whistle_out(Whistle.objects.select_related("area").get(pk=summons.whistle_id))


# --- public (no login) ----------------------------------------------------------------------


@public_router.get(
    "/public/board",
    response=BoardPage,
    summary="三务公开: finished cases without personal data",
)
def public_board(request, filters: Query[BoardFilter]):
    area = Area.objects.filter(pk=filters.area).first() if filters.area else None
    if filters.area and area is None:
        return {"count": 0, "items": []}
    cases = selectors.public_board(area=area, category=filters.category)
    start = (filters.page - 1) * filters.page_size
    return {
        "count": cases.count(),
        "items": selectors.board_rows(cases[start : start + filters.page_size]),
    }


def _track_out(case: Case) -> dict:
    return {
        "number": case.number,
        "kind": case.kind,
        "category": catalogue.category_path(case.category) if case.category else "",
        "title": case.title,
        "state": case.state,
        "state_label": str(State(case.state).label),
        "received_at": case.received_at,
        "resolved_at": case.resolved_at,
        "reply": case.reply,
        "can_rate": _can_rate(case),
        "timeline": selectors.public_timeline(case),
    }


def _can_rate(case: Case) -> bool:
    try:
        workflow.check(Action.CALLBACK, case.state)
    except workflow.IllegalTransition:
        return False
    return True


@public_router.post(
    "/public/track",
    response={200: TrackOut, 404: ErrorOut},
    summary="Follow a case with its number and the reporter's phone",
)
def track(request, payload: TrackIn):
    # A wrong number and a wrong phone both answer the same 404.
    return _track_out(selectors.track_case(payload.number, payload.phone))


@public_router.post(
    "/public/track/callback",
    response={200: TrackOut, **REFUSED},
    summary="The reporter rates their resolved case (number and phone)",
)
def track_callback(request, payload: PublicCallbackIn):
    case = selectors.track_case(payload.number, payload.phone)
    services.record_callback(
        case,
        actor=None,
        method=CallbackMethod.WEB,
        contacted=True,
        solved=payload.solved,
        satisfaction=payload.satisfaction,
        note=payload.note,
    )
    case.refresh_from_db()
    return _track_out(case)


@public_router.post(
    "/public/cases",
    response={201: PublicReceipt, **REFUSED},
    summary="A resident reports a problem without logging in (optional photos, multipart)",
)
def public_case(
    request,
    payload: Form[PublicCaseIn],
    photos: File[list[UploadedFile]] = None,
):
    if not payload.reporter_phone.strip():
        raise invalid("reporter_phone", "Give a phone number to follow the case.", "form")
    # No account is attached even when a session cookie comes along: this endpoint has no CSRF
    # check, so a session must not act through it. Logged-in residents use POST /cases.
    case = intake.receive_case(
        actor=None,
        channel=payload.channel,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        category=payload.category,
        lat=payload.lat,
        lon=payload.lon,
        address=payload.address,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        anonymous=payload.anonymous,
        attachments=photos or (),
        idempotency_key=payload.idempotency_key or request.headers.get("Idempotency-Key"),
    )
    return Status(
        201,
        {
            "number": case.number,
            "received_at": case.received_at,
            "respond_due_at": case.respond_due_at,
        },
    )
