"""Silences, acknowledgements, decisions and the "faster financial decision-making" push."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.acknowledgements import (
    acknowledged_instance_ids,
    alert_acknowledge,
    alert_decide,
    decision_hours_push,
    instance_silenced,
    silence_create,
    silence_expire,
    silence_matches,
)
from alerts.models import Acknowledgement, Silence
from roadmap.models import SuccessMetric
from roadmap.selectors import metric_latest_measurements
from roadmap.services import programme_load
from tests.alerts.factories import AcknowledgementFactory, AlertInstanceFactory, SilenceFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def user():
    return UserFactory(username="ops")


def _silence(user, **overrides):
    now = timezone.now()
    arguments = {
        "matchers": [{"label": "item", "op": "=", "value": "Sales"}],
        "starts_at": None,
        "ends_at": now + 2 * HOUR,
        "comment": "Re-forecast under way",
        "by": user,
    }
    return silence_create(**{**arguments, **overrides})


# --- silences --------------------------------------------------------------------------


def test_silence_create_stores_an_audited_silence(user):
    silence = _silence(user, matchers=[{"label": " item ", "op": "=~", "value": "Sales.*"}])
    assert silence.matchers == [{"label": "item", "op": "=~", "value": "Sales.*"}]
    assert silence.created_by == user
    assert silence.history.get().history_user == user


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"matchers": []}, "matchers", "At least one matcher is required."),
        (
            {"matchers": [{"label": "", "op": "=", "value": "x"}]},
            "matchers",
            "Matcher 1: the label name is empty.",
        ),
        (
            {"matchers": [{"label": "item", "op": "=~", "value": "[Sales"}]},
            "matchers",
            "Matcher 1: the regular expression does not compile",
        ),
        ({"ends_at": "past"}, "ends_at", "The silence must end in the future."),
        ({"ends_at": "before start"}, "ends_at", "The silence must end after it starts."),
        ({"comment": "  "}, "comment", "Say why the alerts are silenced."),
    ],
)
def test_silence_create_names_the_bad_field(user, overrides, field, message):
    now = timezone.now()
    if overrides.get("ends_at") == "past":
        overrides = {"starts_at": now - 3 * HOUR, "ends_at": now - HOUR}
    elif overrides.get("ends_at") == "before start":
        overrides = {"starts_at": now + 3 * HOUR, "ends_at": now + HOUR}
    with pytest.raises(ValidationError) as error:
        _silence(user, **overrides)
    assert list(error.value.message_dict) == [field]
    assert error.value.message_dict[field][0].startswith(message)
    assert not Silence.objects.exists()


def test_silence_matches_and_expires(user):
    sales = AlertInstanceFactory(scope_label="Sales", state="firing")
    marketing = AlertInstanceFactory(scope_label="Marketing", state="firing")
    silence = _silence(user)
    assert silence_matches(silence, sales.labels) and not silence_matches(silence, marketing.labels)
    assert instance_silenced(sales) == silence
    assert instance_silenced(marketing) is None

    silence_expire(silence, by=user)
    silence.refresh_from_db()
    assert silence.ends_at <= timezone.now()
    assert instance_silenced(sales) is None
    assert silence.history.first().history_user == user  # the expiry is audited
    assert silence.history.count() == 2


def test_a_future_silence_never_matches_until_it_starts_and_can_be_expired(user):
    sales = AlertInstanceFactory(scope_label="Sales", state="firing")
    now = timezone.now()
    silence = _silence(user, starts_at=now + HOUR, ends_at=now + 2 * HOUR)
    assert instance_silenced(sales) is None
    assert instance_silenced(sales, now=now + 90 * dt.timedelta(minutes=1)) == silence
    silence_expire(silence, by=user)
    silence.refresh_from_db()
    assert silence.starts_at < silence.ends_at <= timezone.now()


def test_expiring_an_expired_silence_changes_nothing(user):
    now = timezone.now()
    silence = SilenceFactory(starts_at=now - 2 * HOUR, ends_at=now - HOUR)
    silence_expire(silence, by=user)
    silence.refresh_from_db()
    assert silence.ends_at == now - HOUR


# --- acknowledgements and decisions ----------------------------------------------------


def test_acknowledge_a_firing_alert(user):
    fired = timezone.now() - 5 * HOUR
    instance = AlertInstanceFactory(state="firing", fired_at=fired)
    owner = UserFactory(username="controller")
    expires = timezone.now() + 4 * HOUR
    ack = alert_acknowledge(
        instance, owner=owner, note="Checking invoices", expires_at=expires, by=user
    )
    assert (ack.owner, ack.note, ack.expires_at, ack.fired_at) == (
        owner,
        "Checking invoices",
        expires,
        fired,
    )
    assert ack.created_by == user and ack.history.get().history_user == user
    assert acknowledged_instance_ids([instance]) == {instance.pk}
    assert acknowledged_instance_ids([instance], now=expires) == set()  # expired


def test_acknowledge_refuses_a_non_firing_alert_or_a_past_expiry(user):
    with pytest.raises(ValidationError) as error:
        alert_acknowledge(
            AlertInstanceFactory(state="pending"),
            owner=user,
            note="",
            expires_at=timezone.now() + HOUR,
            by=user,
        )
    assert list(error.value.message_dict) == ["instance"]
    with pytest.raises(ValidationError) as error:
        alert_acknowledge(
            AlertInstanceFactory(state="firing", fired_at=timezone.now()),
            owner=user,
            note="",
            expires_at=timezone.now() - HOUR,
            by=user,
        )
    assert list(error.value.message_dict) == ["expires_at"]
    assert not Acknowledgement.objects.exists()


def test_decide_records_the_decision_and_its_time(user, django_capture_on_commit_callbacks):
    ack = AcknowledgementFactory(instance__fired_at=timezone.now() - 6 * HOUR)
    with pytest.raises(ValidationError) as error:
        alert_decide(ack, decision="  ", by=user)
    assert list(error.value.message_dict) == ["decision"]

    with django_capture_on_commit_callbacks() as callbacks:
        alert_decide(ack, decision="Freeze discretionary travel spend", by=user)
    assert len(callbacks) == 1  # the scorecard push, after commit
    ack.refresh_from_db()
    first = ack.decided_at
    assert ack.decision == "Freeze discretionary travel spend" and ack.decided_by == user
    assert timezone.now() - first < dt.timedelta(seconds=30)
    # Hours from firing to decision: 6 (the firing began 6 hours before).
    assert round((ack.decided_at - ack.fired_at) / HOUR, 2) == 6

    alert_decide(ack, decision="Freeze travel and hiring", by=user)
    ack.refresh_from_db()
    assert ack.decided_at == first and ack.decision == "Freeze travel and hiring"


# --- the scorecard push ----------------------------------------------------------------


def _decided(now, *, hours, days_ago=1):
    decided = now - dt.timedelta(days=days_ago)
    return AcknowledgementFactory(
        instance__fired_at=decided - dt.timedelta(hours=hours),
        fired_at=decided - dt.timedelta(hours=hours),
        decided_at=decided,
        decision="done",
    )


def _latest():
    return metric_latest_measurements(keys=["faster_financial_decisions"]).get(
        "faster_financial_decisions"
    )


def test_decision_hours_push_by_hand_worked_numbers():
    programme_load()
    SuccessMetric.objects.filter(key="faster_financial_decisions").update(baseline=Decimal("48"))
    now = timezone.now()
    for hours in (6, 10, 30):
        _decided(now, hours=hours)
    _decided(now, hours=200, days_ago=91)  # outside the 90 days
    AcknowledgementFactory()  # no decision yet
    # median(6, 10, 30) = 10 h; 1 - 10 / 48 = 0.791666… → 79.17 %
    assert decision_hours_push(now=now) is True
    latest = _latest()
    assert latest["value"] == Decimal("79.17")
    assert latest["source"] == "auto:alerts.decisions"

    # A fourth decision: median(6, 10, 20, 30) = 15 h; 1 - 15 / 48 = 0.6875 → 68.75 %
    _decided(now, hours=20)
    assert decision_hours_push(now=now) is True
    assert _latest()["value"] == Decimal("68.75")


def test_decision_hours_push_needs_a_baseline_and_a_decision():
    programme_load()
    now = timezone.now()
    _decided(now, hours=5)
    assert decision_hours_push(now=now) is False  # baseline empty
    SuccessMetric.objects.filter(key="faster_financial_decisions").update(baseline=Decimal("10"))
    assert decision_hours_push(now=now - dt.timedelta(days=3)) is False  # no decision then
    assert _latest() is None
    assert decision_hours_push(now=now) is True
    assert _latest()["value"] == Decimal("50.00")  # 1 - 5 / 10
