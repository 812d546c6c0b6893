"""The notification outbox: in-app lists, channels, rollback, failures and retries, audiences."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from civicgrid.cases import notifications
from civicgrid.cases.choices import Action, NotificationChannel, NotificationStatus, State
from civicgrid.cases.models import CaseEvent, Notification
from civicgrid.cases.tests.builders import build_case, build_unit, unit_handler
from civicgrid.core import clock
from tests.builders import build_user


@pytest.fixture
def staff(db):
    return build_user("handler", email="h@example.org", phone="13800000001")


def test_in_app_messages_are_listed_per_user_and_marked_read(staff, personas):
    other = personas["outsider"]
    (message,) = notifications.notify([staff], "办结提醒", "请尽快办结")
    assert message.status == NotificationStatus.SENT  # the row is the delivery
    assert list(notifications.unread_for(staff)) == [message]
    assert not notifications.unread_for(other).exists()
    assert notifications.mark_read(message, other) is False  # not theirs: no change
    assert notifications.unread_for(staff).exists()
    assert notifications.mark_read(message, staff) is True
    assert not notifications.unread_for(staff).exists()
    assert list(notifications.recent_for(staff)) == [message]


def test_a_rolled_back_change_sends_nothing(staff, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_CHANNELS = ["in_app", "email"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                notifications.notify([staff], "x", channel=notifications.configured_channels())
                raise RuntimeError("the transition failed")
    assert not callbacks
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_email_goes_out_after_the_commit(staff, settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_CHANNELS = ["email"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            notifications.notify([staff], "逾期提醒", "body", channel=["in_app", "email"])
        assert mail.outbox == []  # not before the commit
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["h@example.org"]]
    email = Notification.objects.get(channel=NotificationChannel.EMAIL)
    assert (email.status, email.attempts, email.address) == (
        NotificationStatus.SENT,
        1,
        "h@example.org",
    )


def test_users_without_an_address_get_no_row_on_that_channel(db):
    nobody = build_user("noaddress")
    rows = notifications.notify([nobody], "x", channel=["in_app", "email", "sms"])
    assert [r.channel for r in rows] == [NotificationChannel.IN_APP]


def test_failures_are_recorded_and_retried_up_to_the_limit(staff, settings, monkeypatch):
    settings.NOTIFY_MAX_ATTEMPTS = 2

    def down(notification):
        raise OSError("gateway down")

    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, down)
    (sms,) = notifications.notify([staff], "x", channel="sms", deliver=False)
    assert sms.status == NotificationStatus.PENDING
    assert notifications.deliver_pending().failed == 1
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.error) == (NotificationStatus.FAILED, 1, "gateway down")
    sent = []
    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, sent.append)
    with clock.frozen(sms.next_attempt_at):  # the back-off has run out
        assert notifications.deliver_pending().sent == 1
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.error) == (NotificationStatus.SENT, 2, "")
    assert sms.next_attempt_at is None
    assert [n.pk for n in sent] == [sms.pk]
    # A message that failed its last allowed attempt is left alone.
    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, down)
    (again,) = notifications.notify([staff], "y", channel="sms", deliver=False)
    later = clock.now() + dt.timedelta(days=1)
    notifications.deliver_pending()
    with clock.frozen(later):
        notifications.deliver_pending()
        assert notifications.deliver_pending().failed == 0
    again.refresh_from_db()
    assert (again.status, again.attempts, again.next_attempt_at) == (
        NotificationStatus.FAILED,
        2,
        None,
    )


def test_retries_back_off_exponentially_up_to_a_cap(staff, settings, monkeypatch):
    settings.NOTIFY_MAX_ATTEMPTS = 6
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    settings.NOTIFY_RETRY_MAX_SECONDS = 300
    assert [notifications.retry_delay(n).total_seconds() for n in range(1, 6)] == [
        60,
        120,
        240,
        300,
        300,
    ]
    calls = []

    def down(notification):
        calls.append(clock.now())
        raise OSError("gateway down")

    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, down)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with clock.frozen(start):
        (sms,) = notifications.notify([staff], "x", channel="sms", deliver=False)
    # Knock every 30 seconds for an hour: the sender tries only when the row is due.
    for step in range(121):
        with clock.frozen(start + dt.timedelta(seconds=30 * step)):
            notifications.deliver_pending()
    offsets = [(at - start).total_seconds() for at in calls]
    # Tried at 0, then after 60, 120, 240, 300 (the cap), 300 seconds; six attempts in all.
    assert offsets == [0, 60, 180, 420, 720, 1020]
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.next_attempt_at) == (NotificationStatus.FAILED, 6, None)


def test_a_row_not_yet_due_is_skipped_even_when_named(staff, settings, monkeypatch):
    settings.NOTIFY_RETRY_BASE_SECONDS = 600

    def down(notification):
        raise OSError("gateway down")

    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, down)
    (sms,) = notifications.notify([staff], "x", channel="sms", deliver=False)
    start = clock.now()
    with clock.frozen(start):
        notifications.deliver_ids([sms.pk])
    sms.refresh_from_db()
    assert sms.next_attempt_at == start + dt.timedelta(seconds=600)
    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, lambda n: None)
    with clock.frozen(start + dt.timedelta(seconds=599)):
        assert notifications.deliver_ids([sms.pk]).sent == 0
    with clock.frozen(start + dt.timedelta(seconds=600)):
        assert notifications.deliver_ids([sms.pk]).sent == 1


def test_the_case_shows_what_failed_and_when_it_is_tried_again(
    town, personas, settings, monkeypatch
):
    from civicgrid.cases import selectors

    settings.NOTIFY_MAX_ATTEMPTS = 2
    case = build_case(town, state=State.RECEIVED)
    handler = build_user("sms_handler", phone="13800000009")

    def down(notification):
        raise OSError("gateway down")

    monkeypatch.setitem(notifications.ADAPTERS, NotificationChannel.SMS, down)
    (sms,) = notifications.notify([handler], "x", case=case, channel="sms", deliver=False)
    notifications.deliver_pending()
    viewer = personas["street_dispatcher"]
    (row,) = selectors.case_notifications(case, viewer)
    sms.refresh_from_db()
    assert (row["status"], row["attempts"], row["error"]) == ("failed", 1, "gateway down")
    assert row["next_attempt_at"] == sms.next_attempt_at and not row["given_up"]
    with clock.frozen(sms.next_attempt_at):
        notifications.deliver_pending()
    (row,) = selectors.case_notifications(case, viewer)
    assert (row["attempts"], row["next_attempt_at"], row["given_up"]) == (2, None, True)


def test_sms_posts_to_the_gateway_or_is_only_logged(
    staff, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    posted = []
    monkeypatch.setattr(
        notifications, "_post_json", lambda url, payload: posted.append((url, payload))
    )
    settings.SMS_GATEWAY_URL = ""
    with (
        caplog.at_level("INFO", logger="civicgrid.cases.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notifications.notify([staff], "短信", channel="sms")
    assert posted == [] and "13800000001" in caplog.text
    settings.SMS_GATEWAY_URL = "http://sms.example/send"
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify([staff], "短信", "内容", channel="sms")
    assert posted == [("http://sms.example/send", {"phone": "13800000001", "text": "短信 内容"})]
    assert not Notification.objects.exclude(status=NotificationStatus.SENT).exists()


def test_webhook_sends_one_message_per_notice(
    staff, town, settings, monkeypatch, django_capture_on_commit_callbacks
):
    posted = []
    monkeypatch.setattr(
        notifications, "_post_json", lambda url, payload: posted.append((url, payload))
    )
    settings.WEBHOOK_URL = "http://hook.example/cg"
    case = build_case(town)
    other = build_user("second")
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify([staff, other], "逾期", case=case, channel=["in_app", "webhook"])
    assert len(posted) == 1
    url, payload = posted[0]
    assert url == "http://hook.example/cg" and payload["case"] == case.number


def test_the_command_delivers_pending_messages(staff, capsys):
    notifications.notify([staff], "x", channel="email", deliver=False)
    call_command("send_notifications")
    assert "sent 1, failed 0" in capsys.readouterr().out
    assert len(mail.outbox) == 1


def test_notify_case_tells_the_people_concerned_but_not_the_actor(town, personas):
    unit = build_unit("城管执法局", areas=[town.district])
    handler = unit_handler(unit)
    colleague = unit_handler(build_unit("协办单位", areas=[town.district]))
    resident = build_user("reporter1")
    case = build_case(town, state=State.RESOLVED, lead_unit=unit, reporter=resident)
    # Resolution: the dispatchers over the area and the reporter, not the resolving handler.
    event = CaseEvent.objects.create(case=case, actor=handler, action=Action.RESOLVE)
    told = {n.recipient for n in notifications.notify_case(case, event)}
    assert told == {personas["street_dispatcher"], resident}
    # Dispatch: the lead unit's staff only; another unit hears nothing.
    event = CaseEvent.objects.create(
        case=case, actor=personas["street_dispatcher"], action=Action.DISPATCH
    )
    told = {n.recipient for n in notifications.notify_case(case, event)}
    assert told == {handler}
    assert colleague not in told


def test_reporters_of_merged_duplicates_follow_the_case(town, personas):
    from civicgrid.cases.choices import Action, State
    from civicgrid.cases.models import CaseEvent
    from civicgrid.cases.notifications import notify_case
    from civicgrid.cases.tests.builders import build_case
    from tests.builders import build_user

    first = build_user("first_caller")
    second = build_user("second_caller")
    target = build_case(town, state=State.RESOLVED, reporter=first)
    build_case(town, state=State.MERGED, reporter=second, parent=target)
    event = CaseEvent.objects.create(
        case=target, action=Action.CLOSE, from_state=State.RESOLVED, to_state=State.CLOSED
    )
    told = {n.recipient_id for n in notify_case(target, event)}
    assert {first.pk, second.pk} <= told
