"""The alerting admin: the channel secret (write-only, encrypted, never shown), silences
(created_by, audited), rules (built-in marked, scope checked), read-only instances."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import AlertRule, AlertTransition, NotificationChannel, Silence
from connectors.crypto import decrypt
from tests.alerts.factories import AlertInstanceFactory, AlertRuleFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec-very-secret-4711"


def channel_post(**overrides):
    return {
        "name": "Finance hook",
        "kind": "webhook",
        "url": "https://hooks.example.test/finhub",
        "payload_format": "finhub",
        "enabled": "on",
        "max_attempts": "5",
        "secret": SECRET,
        **overrides,
    }


def test_channel_secret_is_stored_encrypted_and_never_shown(client, integration_admin):
    client.force_login(integration_admin)
    response = client.post("/admin/alerts/notificationchannel/add/", channel_post())
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = NotificationChannel.objects.get()
    assert channel.secret_encrypted and SECRET not in channel.secret_encrypted
    assert decrypt(channel.secret_encrypted) == SECRET
    page = client.get(f"/admin/alerts/notificationchannel/{channel.pk}/change/").content.decode()
    assert SECRET not in page and channel.secret_encrypted not in page
    listing = client.get("/admin/alerts/notificationchannel/").content.decode()
    assert SECRET not in listing and channel.secret_encrypted not in listing
    # The history leaves the secret out.
    assert not hasattr(channel.history.get(), "secret_encrypted")

    # Saved again with the field blank: the stored secret is kept.
    stored = channel.secret_encrypted
    response = client.post(
        f"/admin/alerts/notificationchannel/{channel.pk}/change/",
        channel_post(secret="", name="Renamed"),
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Renamed" and channel.secret_encrypted == stored


def test_a_webhook_needs_a_secret_and_the_error_does_not_echo_it(client, integration_admin):
    client.force_login(integration_admin)
    response = client.post("/admin/alerts/notificationchannel/add/", channel_post(secret=""))
    assert response.status_code == 200
    assert "A webhook is signed: enter its secret." in response.content.decode()
    response = client.post("/admin/alerts/notificationchannel/add/", channel_post(url=""))
    assert response.status_code == 200
    assert SECRET not in response.content.decode()  # not rendered back after an error
    assert NotificationChannel.objects.count() == 0


def test_a_failing_channel_shows_its_status_and_last_error(client, integration_admin):
    NotificationChannel.objects.create(
        name="Broken hook",
        kind="webhook",
        url="https://x.test",
        failing=True,
        last_error="HTTP 500 from the receiver",
        last_failure_at=timezone.now(),
    )
    client.force_login(integration_admin)
    html = client.get("/admin/alerts/notificationchannel/").content.decode()
    assert "Failing" in html and "HTTP 500 from the receiver" in html


def test_silence_admin_records_the_creator_and_the_history(client, integration_admin):
    client.force_login(integration_admin)
    now = timezone.localtime()
    response = client.post(
        "/admin/alerts/silence/add/",
        {
            "matchers": '[{"label": "item", "op": "=", "value": "Marketing"}]',
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": now.strftime("%H:%M:%S"),
            "ends_at_0": (now + dt.timedelta(days=1)).strftime("%Y-%m-%d"),
            "ends_at_1": now.strftime("%H:%M:%S"),
            "comment": "Re-forecast",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    silence = Silence.objects.get()
    assert silence.created_by == integration_admin
    assert silence.history.get().history_user == integration_admin
    response = client.post(
        "/admin/alerts/silence/add/",
        {
            "matchers": '[{"label": "item", "op": "~", "value": "x"}]',
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": now.strftime("%H:%M:%S"),
            "ends_at_0": (now + dt.timedelta(days=1)).strftime("%Y-%m-%d"),
            "ends_at_1": now.strftime("%H:%M:%S"),
            "comment": "Bad",
        },
    )
    assert response.status_code == 200
    assert "Matcher 1: operator" in response.content.decode()


def test_rule_list_marks_builtin_rules_and_filters_them(client, integration_admin):
    AlertRule.objects.filter(builtin_key__isnull=False).delete()
    AlertRuleFactory(name="Built-in overrun", builtin_key="budget_overrun")
    AlertRuleFactory(name="Mine")
    client.force_login(integration_admin)
    html = client.get("/admin/alerts/alertrule/", {"builtin": "yes"}).content.decode()
    assert "Built-in overrun" in html and ">Mine<" not in html
    html = client.get("/admin/alerts/alertrule/", {"builtin": "no"}).content.decode()
    assert ">Mine<" in html and "Built-in overrun" not in html


def test_rule_form_refuses_a_scope_the_metric_has_not(client, integration_admin):
    rule = AlertRuleFactory(name="CAC", metric="blended_cac", scope="all", threshold=Decimal("100"))
    client.force_login(integration_admin)
    page = client.get(f"/admin/alerts/alertrule/{rule.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update(
        {
            "name": "CAC",
            "metric": "blended_cac",
            "scope": "campaign",
            "labels": "{}",
            "group_by": "[]",
        }
    )
    response = client.post(f"/admin/alerts/alertrule/{rule.pk}/change/", data)
    assert response.status_code == 200
    assert "Blended CAC can be watched for" in response.content.decode()


def test_finance_viewer_reads_rules_but_cannot_add_or_edit_channels(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get("/admin/alerts/alertrule/").status_code == 200
    assert client.get("/admin/alerts/alertrule/add/").status_code == 403
    assert client.get("/admin/alerts/notificationchannel/add/").status_code == 403


def test_instances_are_read_only_with_their_transitions(client, superuser):
    instance = AlertInstanceFactory(state="firing", value=Decimal("7"))
    now = timezone.now()
    AlertTransition.objects.create(
        instance=instance,
        from_state="pending",
        to_state="firing",
        value=Decimal("7"),
        tick=now,
        at=now,
        note="seen at tick",
    )
    client.force_login(superuser)
    assert client.get("/admin/alerts/alertinstance/add/").status_code == 403
    html = client.get(f"/admin/alerts/alertinstance/{instance.pk}/change/").content.decode()
    assert "seen at tick" in html
    assert not re.search(r'<input[^>]+name="state"', html)
