"""Planning and delivering notifications: grouping and dedup across evaluations, group wait
and interval, repeat interval, resolved notices, silences, acknowledgements, retries."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.utils import timezone

from alerts import notifications
from alerts.acknowledgements import alert_acknowledge, silence_create, silence_expire
from alerts.channels import ChannelError
from alerts.models import AlertGroup, Notification, NotificationChannel
from alerts.notifications import notifications_plan, notifications_process
from tests.alerts.factories import (
    AlertInstanceFactory,
    AlertRuleFactory,
    NotificationChannelFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _clock():
    # Each test's times start from its own "now" (silences and acknowledgements are
    # validated against the real clock).
    global T0
    T0 = timezone.now().replace(microsecond=0)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def rule():
    rule = AlertRuleFactory(
        name="Budget overrun",
        severity="critical",
        threshold=Decimal("5"),
        group_wait_seconds=30,
        group_interval_seconds=300,
        repeat_interval_seconds=4 * 3600,
    )
    rule.channels.add(NotificationChannelFactory(name="Finance mail", kind="email"))
    rule.recipient_users.add(UserFactory(username="cfo", email="cfo@example.test"))
    return rule


def firing(rule, key, value="7.5", **kwargs):
    return AlertInstanceFactory(
        rule=rule,
        scope_key=key,
        scope_label=f"Dept {key}",
        state="firing",
        fired_at=T0,
        value=Decimal(value),
        **kwargs,
    )


def items(message) -> list[str]:
    return sorted(a["item"] for a in message.payload["alerts"])


def test_group_wait_then_one_message_for_the_group_and_no_duplicate(rule, mailoutbox):
    a, b = firing(rule, "S"), firing(rule, "M")

    assert notifications_process(now=at(0)) == {
        "notifications_queued": "0",
        "notifications_sent": "0",
        "notifications_retrying": "0",
        "notifications_failed": "0",
    }
    group = AlertGroup.objects.get(rule=rule)
    assert group.group_key == "" and group.active_since == at(0)
    assert notifications_process(now=at(29))["notifications_queued"] == "0"

    summary = notifications_process(now=at(30))
    assert summary["notifications_queued"] == "1" and summary["notifications_sent"] == "1"
    message = Notification.objects.get()
    assert message.kind == "firing" and message.status == "sent" and message.sent_at == at(30)
    assert items(message) == ["Dept M", "Dept S"]
    assert message.recipients == ["cfo@example.test"]
    assert len(mailoutbox) == 1
    group.refresh_from_db()
    assert group.notified_instances == sorted([a.pk, b.pk])
    assert group.last_notified_at == at(30)

    # Later evaluations with nothing changed: nothing is queued again.
    for seconds in (30, 90, 600, 3600):
        assert notifications_process(now=at(seconds))["notifications_queued"] == "0"
    assert Notification.objects.count() == 1 and len(mailoutbox) == 1


def test_a_new_instance_waits_for_the_group_interval(rule, mailoutbox):
    firing(rule, "S")
    notifications_process(now=at(0))
    notifications_process(now=at(30))
    firing(rule, "M")
    assert notifications_process(now=at(100))["notifications_queued"] == "0"
    assert notifications_process(now=at(329))["notifications_queued"] == "0"
    assert notifications_process(now=at(330))["notifications_queued"] == "1"
    latest = Notification.objects.first()
    assert latest.kind == "firing" and items(latest) == ["Dept M", "Dept S"]
    assert len(mailoutbox) == 2


def test_group_by_splits_instances_into_groups(rule, mailoutbox):
    rule.group_by = ["item"]
    rule.save()
    firing(rule, "S"), firing(rule, "M")
    notifications_process(now=at(0))
    assert notifications_process(now=at(30))["notifications_queued"] == "2"
    assert sorted(AlertGroup.objects.values_list("group_key", flat=True)) == [
        'item="Dept M"',
        'item="Dept S"',
    ]
    assert sorted(len(n.payload["alerts"]) for n in Notification.objects.all()) == [1, 1]


def test_repeat_interval(rule, mailoutbox):
    firing(rule, "S")
    notifications_process(now=at(0))
    notifications_process(now=at(30))
    assert notifications_process(now=at(30 + 4 * 3600 - 1))["notifications_queued"] == "0"
    assert notifications_process(now=at(30 + 4 * 3600))["notifications_queued"] == "1"
    repeat = Notification.objects.first()
    assert repeat.kind == "repeat" and items(repeat) == ["Dept S"]
    assert mailoutbox[-1].subject == "[CRITICAL] Still firing: Budget overrun (1 alert)"
    # The next repeat counts from this one.
    assert notifications_process(now=at(30 + 8 * 3600 - 1))["notifications_queued"] == "0"
    assert notifications_process(now=at(30 + 8 * 3600))["notifications_queued"] == "1"


def test_resolved_notice_is_sent_once(rule, mailoutbox):
    s = firing(rule, "S")
    m = firing(rule, "M")
    notifications_process(now=at(0))
    notifications_process(now=at(30))
    s.state, s.resolved_at = "resolved", at(100)
    s.save()
    assert notifications_process(now=at(330))["notifications_queued"] == "1"
    notice = Notification.objects.first()
    assert notice.kind == "resolved"
    assert [(a["item"], a["state"]) for a in notice.payload["alerts"]] == [
        ("Dept M", "firing"),
        ("Dept S", "resolved"),
    ]
    assert notice.payload["firing"] == 1 and notice.payload["resolved"] == 1
    # The resolved instance going back to normal does not repeat the notice.
    s.state = "normal"
    s.save()
    assert notifications_process(now=at(700))["notifications_queued"] == "0"
    m.state = "resolved"
    m.save()
    assert notifications_process(now=at(700))["notifications_queued"] == "1"
    assert Notification.objects.first().payload["resolved"] == 1
    group = AlertGroup.objects.get()
    assert group.active_since is None and group.notified_instances == []
    assert notifications_process(now=at(5000))["notifications_queued"] == "0"
    assert len(mailoutbox) == 3


def test_a_silence_mutes_matching_instances_until_it_expires(rule, mailoutbox):
    firing(rule, "S"), firing(rule, "M")
    admin = UserFactory(username="ops")
    silence = silence_create(
        matchers=[{"label": "item", "op": "=~", "value": "Dept S|Dept X"}],
        starts_at=at(-60),
        ends_at=at(7200),
        comment="Known overrun, re-forecast under way",
        by=admin,
    )
    notifications_process(now=at(0))
    notifications_process(now=at(30))
    assert items(Notification.objects.get()) == ["Dept M"]

    silence_expire(silence, by=admin)
    now = timezone.now() + dt.timedelta(seconds=330)
    assert notifications_process(now=now)["notifications_queued"] == "1"
    assert items(Notification.objects.first()) == ["Dept M", "Dept S"]
    assert silence.history.first().history_user == admin


def test_an_acknowledgement_pauses_then_expiry_renotifies(rule, mailoutbox):
    instance = firing(rule, "S")
    notifications_process(now=at(0))
    notifications_process(now=at(30))
    owner = UserFactory(username="owner")
    alert_acknowledge(
        instance,
        owner=owner,
        note="Looking into it",
        expires_at=at(3600),
        by=owner,
    )
    # Acknowledged: no resolved notice, no repeat while it lasts.
    for seconds in (330, 1800, 3599):
        assert notifications_process(now=at(seconds))["notifications_queued"] == "0"
    assert AlertGroup.objects.get().notified_instances == []
    # Expired while still firing: notified again (after group wait from then).
    assert notifications_process(now=at(3600))["notifications_queued"] == "0"
    assert notifications_process(now=at(3630))["notifications_queued"] == "1"
    assert Notification.objects.first().kind == "firing"
    assert len(mailoutbox) == 2


def test_an_acknowledgement_of_an_earlier_firing_does_not_mute_a_new_one(rule, mailoutbox):
    instance = firing(rule, "S")
    owner = UserFactory(username="owner")
    alert_acknowledge(instance, owner=owner, note="", expires_at=at(7200), by=owner)
    instance.fired_at = at(600)  # resolved meanwhile, and fires again
    instance.save()
    notifications_process(now=at(600))
    assert notifications_process(now=at(630))["notifications_queued"] == "1"


def test_payload_and_recipients_from_users_and_groups(rule, settings):
    settings.FINHUB_BASE_URL = "https://finhub.example.test/"
    controllers = Group.objects.create(name="Controllers")
    rule.recipient_groups.add(controllers)
    UserFactory(username="ctl", email="ctl@example.test").groups.add(controllers)
    UserFactory(username="gone", email="gone@example.test", is_active=False).groups.add(controllers)
    UserFactory(username="cfo", email="cfo@example.test").groups.add(controllers)  # once
    webhook = NotificationChannelFactory(name="Hook", kind="webhook", url="http://x.test/")
    rule.channels.add(webhook)
    instance = firing(rule, "S", value="7.5000")
    notifications_plan(now=at(0))
    notifications_plan(now=at(30))
    email = Notification.objects.get(channel__kind="email")
    assert email.recipients == ["cfo@example.test", "ctl@example.test"]
    hook = Notification.objects.get(channel=webhook)
    assert hook.recipients == []
    assert hook.payload == email.payload
    assert hook.payload["rule"] == {"id": rule.pk, "name": "Budget overrun", "metric": rule.metric}
    assert hook.payload["kind"] == "firing" and hook.payload["severity"] == "critical"
    alert = hook.payload["alerts"][0]
    assert alert["value"] == "7.5" and alert["threshold"] == "5"
    assert alert["state"] == "firing" and alert["item"] == "Dept S"
    assert alert["link"] == f"https://finhub.example.test/alerts/{instance.pk}/"
    assert alert["fired_at"] == T0.isoformat()


def test_link_is_relative_without_a_base_url(rule):
    instance = firing(rule, "S")
    notifications_plan(now=at(0))
    notifications_plan(now=at(30))
    assert Notification.objects.get().payload["alerts"][0]["link"] == f"/alerts/{instance.pk}/"


def test_disabled_rules_and_channels_queue_nothing(rule):
    firing(rule, "S")
    rule.channels.update(enabled=False)
    notifications_plan(now=at(0))
    assert notifications_plan(now=at(30)) == 0
    rule.enabled = False
    rule.save()
    assert notifications_plan(now=at(60)) == 0


def test_planning_reads_are_set_based(rule, django_assert_max_num_queries):
    for n in range(30):
        firing(rule, f"D{n}")
    notifications_plan(now=at(0))
    # instances, silences, acks, open groups, rules + 3 prefetches, then per group: lock,
    # resolved read, recipients, savepoint + get_or_create, save.
    with django_assert_max_num_queries(20):
        assert notifications_plan(now=at(30)) == 1


# --- delivery: retries, backoff, failing channel ---------------------------------------


def test_retries_with_backoff_then_failed_and_the_channel_shows_it(rule, monkeypatch):
    channel = rule.channels.get()
    channel.max_attempts = 3
    channel.save()
    calls = []

    def broken(channel, *, payload, recipients):
        calls.append(channel.pk)
        raise ChannelError("SMTPServerDisconnected: Connection unexpectedly closed")

    monkeypatch.setattr(notifications, "channel_send", broken)
    firing(rule, "S")
    notifications_process(now=at(0))
    assert notifications_process(now=at(30))["notifications_retrying"] == "1"
    message = Notification.objects.get()
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at == at(30 + 60)
    assert message.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    channel.refresh_from_db()
    assert channel.failing and channel.last_failure_at == at(30)
    assert channel.last_error == message.last_error

    assert notifications_process(now=at(89))["notifications_retrying"] == "0"  # not due
    assert notifications_process(now=at(90))["notifications_retrying"] == "1"
    message.refresh_from_db()
    assert message.attempts == 2 and message.next_attempt_at == at(90 + 120)
    summary = notifications_process(now=at(210))
    assert summary["notifications_failed"] == "1"
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 3
    assert notifications_process(now=at(9999))["notifications_failed"] == "0"
    assert len(calls) == 3
    channel.refresh_from_db()
    assert channel.failing  # kept visible until a delivery succeeds

    monkeypatch.setattr(notifications, "channel_send", lambda channel, **kwargs: None)
    Notification.objects.create(
        group=message.group, channel=channel, kind="firing", dedup_key="manual", payload={}
    )
    assert notifications_process(now=timezone.now())["notifications_sent"] == "1"
    channel.refresh_from_db()
    assert not channel.failing and channel.last_error == "" and channel.last_success_at


def test_an_email_channel_without_recipients_fails_visibly(rule, mailoutbox):
    rule.recipient_users.clear()
    firing(rule, "S")
    notifications_process(now=at(0))
    assert notifications_process(now=at(30))["notifications_retrying"] == "1"
    assert Notification.objects.get().last_error.startswith("No recipients")
    assert NotificationChannel.objects.get().failing
    assert mailoutbox == []


def test_a_claimed_notification_is_not_sent_by_another_worker(rule, monkeypatch):
    firing(rule, "S")
    notifications_plan(now=at(0))
    notifications_plan(now=at(30))
    message = Notification.objects.get()
    assert notifications.notification_claim(message.pk, due_at=at(30), now=at(30))
    # The second worker read the same due row before the claim: its claim matches nothing.
    assert not notifications.notification_claim(message.pk, due_at=at(30), now=at(30))
    assert notifications.notification_deliver(message.pk, due_at=at(30), now=at(30)) == ""


# --- two workers at once (PostgreSQL) --------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_send_each_notification_once(monkeypatch):
    rule = AlertRuleFactory(name="Concurrent", group_wait_seconds=0, group_by=["item"])
    email = NotificationChannelFactory(name="Mail", kind="email")
    hook = NotificationChannelFactory(name="Hook", kind="webhook", url="http://x.test/")
    rule.channels.add(email, hook)
    rule.recipient_users.add(UserFactory(username="cfo", email="cfo@example.test"))
    for n in range(5):
        firing(rule, f"D{n}")
    deliveries = []
    lock = threading.Lock()

    def record(channel, *, payload, recipients):
        with lock:
            deliveries.append((channel.pk, payload["alerts"][0]["item"]))

    monkeypatch.setattr(notifications, "channel_send", record)
    barrier = threading.Barrier(2)
    errors = []
    now = timezone.now()

    def worker():
        try:
            barrier.wait()
            notifications_process(now=now)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert Notification.objects.count() == 10
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
    assert len(deliveries) == 10 and len(set(deliveries)) == 10
    assert mail.outbox == []  # the sender was replaced: nothing else sent
