"""Intake (受理): the one path by which a case enters, whatever the channel.

The hotline form, the patrol app, the resident's page, partner systems and the legacy import
all call `receive_case`. It validates everything first (field errors, nothing written), locates
the case, takes a number, writes the case, its RECEIVE event, the audit row and the photos,
sets the deadlines and routes it through the dispatch catalogue, dispatching at once when one
rule alone names the unit and allows it. All of it is one transaction: bad input writes
nothing, and a failure half-way leaves no case behind.

Where the case lies: the grid the locator finds for the point (or for the address, through the
building registry). A case outside every grid is filed under the root of the area roles of the
person who took it (a street dispatcher's street), and otherwise under the top of the area tree
(the district): someone with a scope always sees it, and a dispatcher routes it by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from civicgrid.areas import locator
from civicgrid.areas.models import Area
from civicgrid.cases import duplicates, rawsql, routing
from civicgrid.cases.choices import Action, Channel, Kind, State, Urgency
from civicgrid.cases.models import (
    Attachment,
    Case,
    CaseCounter,
    CaseEvent,
    Category,
    Tag,
)
from civicgrid.classifier import intake as classifier_intake
from civicgrid.core import audit, clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of
from civicgrid.registry.idnumbers import InvalidIdentifier, normalise_phone

logger = logging.getLogger(__name__)

MAX_TITLE = 100
MAX_DESCRIPTION = 4000
MAX_ADDRESS = 255
MAX_REPORTER_NAME = 64
MAX_ATTACHMENTS = 9
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_IDEMPOTENCY_KEY = 100
# Channels a resident may use without an intake role (the public page and the mobile page).
PUBLIC_CHANNELS = frozenset({Channel.WEB, Channel.MOBILE})
# Pillow refuses to open images beyond this many pixels (decompression bombs): about 12000².
Image.MAX_IMAGE_PIXELS = 150_000_000


def receive_case(
    *,
    actor,
    channel: str,
    kind: str,
    title: str,
    description: str,
    category: Category | int | None = None,
    lat: float | None = None,
    lon: float | None = None,
    address: str = "",
    reporter_name: str = "",
    reporter_phone: str = "",
    anonymous: bool = False,
    urgency: str = Urgency.NORMAL,
    tags: Iterable[Tag | str] = (),
    attachments: Sequence = (),
    idempotency_key: str | None = None,
    reporter=None,
    received_at: dt.datetime | None = None,
    legacy_number: str = "",
    extra: dict | None = None,
) -> Case:
    """Take in one case. See the module docstring.

    Raises ServiceError with `errors={field: message}` for bad input (nothing is written),
    PermissionDeniedError when the actor may not take cases in on this channel, and
    services.ConflictError when `idempotency_key` was used before for a different request.
    A retry with the same key and the same request returns the case made the first time, with
    `case.replayed = True`. A new case carries `case.route`, the catalogue's routing.RouteResult.
    `legacy_number` (the number in an older system) is kept on the RECEIVE event, and so is
    `extra`, what a channel adapter received beyond the case's own fields (Open311's
    attributes and media URL), under the key "extra".
    """
    caller = scope_of(actor)
    if not caller.can("cases.intake") and channel not in PUBLIC_CHANNELS:
        raise PermissionDeniedError(_("Your roles do not allow taking in cases on this channel."))
    if (
        reporter is None
        and getattr(actor, "is_authenticated", False)
        and channel in PUBLIC_CHANNELS
    ):
        if not caller.can("cases.intake"):
            reporter = actor  # a resident reporting for themselves
    fields = _validate(
        channel=channel,
        kind=kind,
        title=title,
        description=description,
        category=category,
        lat=lat,
        lon=lon,
        address=address,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        urgency=urgency,
        tags=tags,
        attachments=attachments,
        idempotency_key=idempotency_key,
        received_at=received_at,
    )
    fingerprint = _fingerprint(fields, anonymous, reporter)
    key = fields["idempotency_key"]
    if key:
        existing = _replay(key, fingerprint)
        if existing is not None:
            existing.replayed = True
            return existing
    location = _locate(fields["lat"], fields["lon"], fields["address"])
    # The classifier's suggestions (nothing without an active model); a confident one may
    # fill in a missing category before the deadlines are set from it.
    fields["suggested"] = classifier_intake.prepare(fields)
    try:
        return _write(
            actor=actor,
            fields=fields,
            location=location,
            anonymous=anonymous,
            reporter=reporter,
            fingerprint=fingerprint,
            legacy_number=legacy_number,
            extra=extra,
        )
    except IntegrityError:
        # Two requests with the same key raced past the replay check; the loser answers with
        # the winner's case (or a conflict if the requests differ).
        if key:
            existing = _replay(key, fingerprint)
            if existing is not None:
                existing.replayed = True
                return existing
        raise


# --- validation -----------------------------------------------------------------------------


def _validate(**values) -> dict:
    errors: dict[str, str] = {}
    out: dict = {}

    def choice(name: str, enum) -> None:
        value = values[name]
        if value not in enum.values:
            errors[name] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(enum.values)}
        out[name] = value

    choice("channel", Channel)
    choice("kind", Kind)
    choice("urgency", Urgency)

    title = " ".join((values["title"] or "").split())
    if not title:
        errors["title"] = _("Give the case a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("The title may have at most %(n)d characters.") % {"n": MAX_TITLE}
    out["title"] = title

    description = (values["description"] or "").strip()
    if not description:
        errors["description"] = _("Describe the request.")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("The description may have at most %(n)d characters.") % {
            "n": MAX_DESCRIPTION
        }
    out["description"] = description

    out["category"] = _valid_category(values["category"], errors)

    lat, lon = values["lat"], values["lon"]
    address = " ".join((values["address"] or "").split())
    if (lat is None) != (lon is None):
        errors["lon" if lat is not None else "lat"] = _("Give both latitude and longitude.")
    if lat is not None:
        try:
            lat = float(lat)
            if not -90 <= lat <= 90:
                raise ValueError
        except (TypeError, ValueError):
            errors["lat"] = _("Latitude must be a number between -90 and 90.")
    if lon is not None:
        try:
            lon = float(lon)
            if not -180 <= lon <= 180:
                raise ValueError
        except (TypeError, ValueError):
            errors["lon"] = _("Longitude must be a number between -180 and 180.")
    if lat is None and lon is None and not address:
        errors["address"] = _("Give a location on the map or an address.")
    if len(address) > MAX_ADDRESS:
        errors["address"] = _("The address may have at most %(n)d characters.") % {"n": MAX_ADDRESS}
    out.update(lat=lat, lon=lon, address=address)

    name = (values["reporter_name"] or "").strip()
    if len(name) > MAX_REPORTER_NAME:
        errors["reporter_name"] = _("The name may have at most %(n)d characters.") % {
            "n": MAX_REPORTER_NAME
        }
    out["reporter_name"] = name
    try:
        out["reporter_phone"] = normalise_phone(values["reporter_phone"] or "")
    except InvalidIdentifier:
        errors["reporter_phone"] = _(
            "Phone must be an 11-digit mobile number (13812345678) or a landline with its area "
            "code (028-85123456)."
        )

    out["tags"] = _valid_tags(values["tags"], errors)
    out["attachments"] = _valid_attachments(values["attachments"], errors)

    key = (values["idempotency_key"] or "").strip() or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        errors["idempotency_key"] = _("The idempotency key may have at most %(n)d characters.") % {
            "n": MAX_IDEMPOTENCY_KEY
        }
    out["idempotency_key"] = key

    received_at = values["received_at"]
    if received_at is not None:
        if timezone.is_naive(received_at):
            received_at = timezone.make_aware(received_at)
        if received_at > clock.now() + dt.timedelta(minutes=5):
            errors["received_at"] = _("The received time cannot be in the future.")
    out["received_at"] = received_at

    if errors:
        first = next(iter(errors.values()))
        raise ServiceError(first, errors=errors)
    return out


def _valid_category(value, errors: dict[str, str]) -> Category | None:
    """An active leaf of the active taxonomy, or None when no category was given.

    One query in the usual case; its ancestors come along, so routing and the time-limit
    rules walk up the tree without more queries.
    """
    if value in (None, ""):
        return None
    try:
        pk = value.pk if isinstance(value, Category) else int(value)
    except (TypeError, ValueError):
        errors["category"] = _("Unknown category.")
        return None
    found = _category_row(pk)
    if found is None:
        errors["category"] = _("Unknown category.")
        return None
    category, taxonomy_active, has_children = found
    if not (taxonomy_active and category.is_active):
        errors["category"] = _("This category is not in use any more.")
    elif has_children:
        errors["category"] = _("Choose a category of the last level.")
    return category


def _category_sql() -> tuple[str, list[str]]:
    """The one query `_category_row` runs, built once per process, and its field names."""
    meta = Category._meta
    quote = connection.ops.quote_name
    fields = list(meta.concrete_fields)
    table = quote(meta.db_table)
    taxonomy = Category._meta.get_field("taxonomy").related_model._meta

    def columns(alias: str) -> str:
        return ", ".join(f"{alias}.{quote(f.column)}" for f in fields)

    pk, parent, active = (quote(meta.get_field(n).column) for n in ("id", "parent", "is_active"))
    sql = (
        f"SELECT {columns('c')}, {columns('p')}, {columns('g')}, "
        f"t.{quote(taxonomy.get_field('is_active').column)}, "
        f"EXISTS (SELECT 1 FROM {table} k WHERE k.{parent} = c.{pk} AND k.{active}) "
        f"FROM {table} c "
        f"INNER JOIN {quote(taxonomy.db_table)} t "
        f"ON t.{quote(taxonomy.pk.column)} = c.{quote(meta.get_field('taxonomy').column)} "
        f"LEFT JOIN {table} p ON p.{pk} = c.{parent} "
        f"LEFT JOIN {table} g ON g.{pk} = p.{parent} "
        f"WHERE c.{pk} = %s"
    )
    return sql, [f.attname for f in fields]


_CATEGORY_SQL: tuple[str, list[str]] | None = None


def _category_row(pk: int) -> tuple[Category, bool, bool] | None:
    """(the category with its parent and grandparent attached, whether its taxonomy is active,
    whether it has active children), or None for an unknown id.

    One query, written out rather than built by the ORM: building the equivalent queryset
    (select_related of the two ancestors and the taxonomy, an Exists annotation) costs several
    times the query itself, on every intake. Routing and the time-limit rules walk up the
    tree through the attached ancestors without more queries, as before.
    """
    global _CATEGORY_SQL
    if _CATEGORY_SQL is None:
        _CATEGORY_SQL = _category_sql()
    sql, names = _CATEGORY_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(names)
    active_at = names.index("is_active")
    nodes: list[Category | None] = []
    for i in range(3):
        values = list(row[i * n : (i + 1) * n])
        if values[0] is None:  # no parent (or grandparent)
            nodes.append(None)
            continue
        values[active_at] = bool(values[active_at])
        nodes.append(Category.from_db(connection.alias, names, values))
    category, parent, grandparent = nodes
    if grandparent is not None:
        parent.parent = grandparent
    if parent is not None:
        category.parent = parent
    return category, bool(row[3 * n]), bool(row[3 * n + 1])


def _valid_tags(values, errors: dict[str, str]) -> list[Tag]:
    wanted = [t for t in values or () if t]
    objects = [t for t in wanted if isinstance(t, Tag)]
    codes = [t for t in wanted if not isinstance(t, Tag)]
    if codes:
        found = {t.code: t for t in Tag.objects.filter(code__in=codes)}
        unknown = [c for c in codes if c not in found]
        if unknown:
            errors["tags"] = _("Unknown tags: %(tags)s.") % {"tags": ", ".join(map(str, unknown))}
        objects += list(found.values())
    return objects


def _valid_attachments(files, errors: dict[str, str]) -> list[tuple]:
    """(file, content type, size) for each photo; refuses anything Pillow cannot read."""
    files = list(files or ())
    if len(files) > MAX_ATTACHMENTS:
        errors["attachments"] = _("At most %(n)d photos.") % {"n": MAX_ATTACHMENTS}
        return []
    checked = []
    for upload in files:
        name = getattr(upload, "name", "") or "photo"
        size = getattr(upload, "size", None)
        if size is None:
            upload.seek(0, 2)
            size = upload.tell()
        if size > MAX_ATTACHMENT_BYTES:
            errors["attachments"] = _("%(name)s is larger than %(mb)d MB.") % {
                "name": name,
                "mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
            }
            continue
        try:
            upload.seek(0)
            with Image.open(upload) as image:
                image_format = image.format
                image.verify()  # reads the whole file: a truncated or fake image fails here
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ):
            errors["attachments"] = _("%(name)s is not an image.") % {"name": name}
            continue
        finally:
            upload.seek(0)
        content_type = Image.MIME.get(image_format or "", "application/octet-stream")
        checked.append((upload, content_type, size))
    return checked


def _fingerprint(fields: dict, anonymous: bool, reporter) -> str:
    """A digest of what was asked for, to tell a retry from a different request."""
    data = {
        key: fields[key]
        for key in (
            "channel",
            "kind",
            "title",
            "description",
            "lat",
            "lon",
            "address",
            "reporter_name",
            "reporter_phone",
            "urgency",
        )
    }
    data["category"] = fields["category"].pk if fields["category"] else None
    data["tags"] = sorted(t.code for t in fields["tags"])
    data["anonymous"] = bool(anonymous)
    data["reporter"] = getattr(reporter, "pk", None)
    data["attachments"] = [size for _upload, _type, size in fields["attachments"]]
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(key: str, fingerprint: str) -> Case | None:
    """The case made for `key` before, or None; a different request with the key is refused."""
    from civicgrid.cases.services import ConflictError

    # The usual answer is "no such key": ask for the id alone, read the case only when found.
    rows = rawsql.fetch(
        f"SELECT {rawsql.column(Case, 'id')} FROM {rawsql.table(Case)} "
        f"WHERE {rawsql.column(Case, 'idempotency_key')} = %s",
        [key],
    )
    if not rows:
        return None
    case = Case.objects.get(pk=rows[0][0])
    event = case.events.filter(action=Action.RECEIVE).first()
    if event is None or event.data.get("fingerprint") != fingerprint:
        message = _(
            "This idempotency key was already used for a different request (case %(number)s)."
        ) % {"number": case.number}
        conflict = ConflictError(message)
        conflict.errors = {"idempotency_key": message}
        raise conflict
    return case


# --- locating and numbering -----------------------------------------------------------------


def _locate(lat: float | None, lon: float | None, address: str) -> locator.Location:
    found = locator.OUTSIDE
    if lat is not None and lon is not None:
        found = locator.locate(lat, lon)
    if found.grid is None and address:
        found = locator.locate_address(address)
    return found


def fallback_area(actor) -> Area | None:
    """Where a case outside every grid is filed: the actor's own area root, else the top of
    the area tree (see the module docstring)."""
    caller = scope_of(actor)
    if caller.role_area_paths:
        root_id = int(caller.role_area_paths[0].strip("/").split("/")[-1])
        area = Area.objects.filter(pk=root_id).first()
        if area is not None:
            return area
    return Area.objects.filter(parent__isnull=True, valid_to__isnull=True).order_by("path").first()


def next_number(day: dt.date) -> str:
    """`YYYYMMDD` + a 5-digit sequence of that day, taken under a lock on the day's counter.

    The UPDATE comes first: it takes the row lock on PostgreSQL and the write lock on SQLite
    before the value is read, so two intakes never read the same value. Where the database
    returns columns from a write (PostgreSQL, SQLite 3.35+), the UPDATE hands the new value
    back itself: one statement instead of two, under the same lock.
    """
    value = _bump_counter(day)
    if value is not None:
        return f"{day:%Y%m%d}{value:05d}"
    if not CaseCounter.objects.filter(day=day).update(value=F("value") + 1):
        CaseCounter.objects.get_or_create(day=day)
        CaseCounter.objects.filter(day=day).update(value=F("value") + 1)
    value = CaseCounter.objects.select_for_update().values_list("value", flat=True).get(day=day)
    return f"{day:%Y%m%d}{value:05d}"


def _bump_counter(day: dt.date) -> int | None:
    """The day's counter plus one, by `UPDATE ... RETURNING`; None without such a row or where
    the database cannot return columns from a write (the caller then takes the long way)."""
    if not connection.features.can_return_columns_from_insert:
        return None
    quote = connection.ops.quote_name
    meta = CaseCounter._meta
    value = quote(meta.get_field("value").column)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {value} = {value} + 1 "
        f"WHERE {quote(meta.get_field('day').column)} = %s RETURNING {value}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datefield_value(day)])
        row = cursor.fetchone()
    return None if row is None else row[0]


# --- writing --------------------------------------------------------------------------------


@contextmanager
def _removed_on_failure() -> Iterator[list[str]]:
    """Names of the photo files written so far; if the block fails (a database error, a
    refusal after the photos were written), its transaction rolls back and the files go too:
    no file outlives the case it was written for."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        storage = Attachment._meta.get_field("file").storage
        for name in written:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("Could not remove the photo %s of a failed intake", name)
        raise


def _grid(pk: int) -> Area | None:
    """`Area.objects.defer("geometry").filter(pk=pk).first()`, written out (see `rawsql`)."""
    rows = rawsql.fetch(
        f"SELECT {rawsql.columns(Area, 'a', exclude=['geometry'])} FROM {rawsql.table(Area)} a "
        f"WHERE a.{rawsql.column(Area, 'id')} = %s",
        [pk],
    )
    return rawsql.instances(Area, rows[0], exclude=["geometry"])[0] if rows else None


def _write(
    *, actor, fields, location, anonymous, reporter, fingerprint, legacy_number, extra=None
) -> Case:
    from civicgrid.cases import notifications, services, sla

    # The boundary is the locator's business; the case needs the grid's id, path and name.
    grid = _grid(location.grid.id) if location.grid else None
    area = grid or fallback_area(actor)
    now = clock.now()
    received_at = fields["received_at"] or now
    staff = getattr(actor, "is_authenticated", False)
    with _removed_on_failure() as written, transaction.atomic():
        case = Case(
            number=next_number(timezone.localdate(received_at)),
            channel=fields["channel"],
            kind=fields["kind"],
            category=fields["category"],
            title=fields["title"],
            description=fields["description"],
            lat=fields["lat"],
            lon=fields["lon"],
            address=fields["address"],
            grid=grid,
            area_path=area.path if area is not None else "/",
            locate_status=location.status,
            reporter_name=fields["reporter_name"],
            reporter_phone=fields["reporter_phone"],
            reporter=reporter,
            anonymous=anonymous,
            urgency=fields["urgency"],
            state=State.RECEIVED,
            received_at=received_at,
            idempotency_key=fields["idempotency_key"],
            created_by=actor if staff else None,
            # Written with the row, so a duplicate check never cuts this case's text.
            text_signature=duplicates.signature(f"{fields['title']} {fields['description']}"),
        )
        sla.apply_deadlines(case, now=now)
        found = routing.route(case.category, grid or area)
        case.route = found  # what the catalogue suggested, for the caller to show
        dispatch = None
        by_classifier = not found.auto and classifier_intake.may_dispatch(
            fields["suggested"], case, found
        )
        if (found.auto or by_classifier) and found.unit is not None:
            # The catalogue decides, not the person who took the call (a hotline operator may
            # not dispatch): the system is the actor, and the event names the rule. The case
            # is inserted dispatched, with its rows written below.
            dispatch = services.dispatch_new_case(
                case,
                found.unit,
                note=(
                    classifier_intake.dispatch_note(fields["suggested"])
                    if by_classifier
                    else _("Dispatch catalogue rule %(rule)d") % {"rule": found.rule.pk}
                ),
            )
        case.save(force_insert=True)
        if fields["tags"]:
            case.tags.set(fields["tags"])
        for upload, content_type, size in fields["attachments"]:
            attachment = Attachment(
                case=case,
                content_type=content_type,
                size=size,
                uploaded_by=actor if staff else None,
                uploaded_at=now,
            )
            attachment.file.save(upload.name or "photo", upload, save=False)
            written.append(attachment.file.name)
            attachment.save(force_insert=True)
        data = {
            "channel": case.channel,
            "locate_status": location.status,
            "fingerprint": fingerprint,
        }
        if location.matched_address:
            data["matched_address"] = location.matched_address
        if legacy_number:
            data["legacy_number"] = legacy_number
        if extra:
            data["extra"] = extra
        # One INSERT per table for the RECEIVE rows and the DISPATCH ones, if any, the
        # RECEIVE rows first.
        events = [
            (
                case,
                CaseEvent(
                    case=case,
                    at=received_at,
                    actor=actor if staff else None,
                    action=Action.RECEIVE,
                    to_state=State.RECEIVED,
                    data=data,
                ),
            )
        ]
        entries = [
            audit.entry(
                actor,
                AuditEntry.Action.CREATE,
                case,
                fields={"channel": case.channel, "kind": case.kind, "grid": case.grid_id},
            )
        ]
        if dispatch is not None:
            handler, dispatched, entry = dispatch.rows()
            rawsql.insert([handler])
            events.append((case, dispatched))
            entries.append(entry)
        rawsql.insert([e for _c, e in events])
        rawsql.insert(entries)
        # One audience lookup for both events. The RECEIVE audience (the desk, the reporter)
        # does not depend on the dispatch.
        notifications.notify_case_events(events, new_case_ids=[case.pk])
        classifier_intake.record(case, fields["suggested"], auto_dispatched=by_classifier)
    return case
