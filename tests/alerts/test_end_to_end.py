"""From a stored figure to an e-mail and back: the built-in spend-anomaly rule, evaluated by
the beat task, notifies its recipients; dismissing the anomaly resolves the alert and sends
the resolved notice. No fakes between the anomaly row and the mail outbox."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from alerts import tasks
from alerts.models import AlertInstance, AlertRule, Notification, NotificationChannel
from metrics.anomalies import anomaly_dismiss
from metrics.models import SpendAnomaly

pytestmark = pytest.mark.django_db


def anomaly() -> SpendAnomaly:
    return SpendAnomaly.objects.create(
        kind=SpendAnomaly.Kind.GL_EXPENSE,
        scope_key="SAL|6500",
        label="Sales — 6500 Advertising",
        period_start=dt.date(2026, 3, 9),
        period_end=dt.date(2026, 3, 15),
        actual=Decimal("900.00"),
        expected=Decimal("250.00"),
        low=Decimal("200.00"),
        high=Decimal("300.00"),
        deviation=Decimal("650.00"),
        currency="USD",
        score=Decimal("7.25"),
    )


def test_spend_anomaly_fires_mails_and_resolves(finance_viewer, settings, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    finance_viewer.email = "cfo@example.com"
    finance_viewer.save()
    rule = AlertRule.objects.get(builtin_key="spend_anomaly")
    start = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    rule.group_wait_seconds = 0
    rule.next_evaluation_at = start  # due at the (fixed) clock of this test
    rule.save()
    rule.recipient_users.add(finance_viewer)
    rule.channels.add(NotificationChannel.objects.create(name="Finance mail", kind="email"))
    found = anomaly()
    AlertRule.objects.exclude(pk=rule.pk).update(enabled=False)

    monkeypatch.setattr("django.utils.timezone.now", lambda: start)
    tasks.evaluate_alerts()
    alert = AlertInstance.objects.get(rule=rule)
    assert alert.state == "firing" and alert.value == Decimal("7.25")
    assert alert.scope_label == "Sales — 6500 Advertising"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["cfo@example.com"]
    assert "Spend anomaly" in mail.outbox[0].subject
    assert "Sales — 6500 Advertising" in mail.outbox[0].body

    # The same tick again (a second worker, a redelivery) sends nothing more.
    tasks.evaluate_alerts()
    assert len(mail.outbox) == 1

    anomaly_dismiss(found, user=finance_viewer, reason="Planned launch campaign")
    later = start + dt.timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    tasks.evaluate_alerts()
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert [t.to_state for t in alert.transitions.order_by("at", "id")] == ["firing", "resolved"]
    kinds = list(Notification.objects.order_by("created_at").values_list("kind", "status"))
    assert kinds == [("firing", "sent"), ("resolved", "sent")]
    assert len(mail.outbox) == 2 and "Resolved" in mail.outbox[1].subject
