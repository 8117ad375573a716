"""The Alerts page: permissions, the lists and filters, one alert's timeline and chart, the
actions (through the alerts services), the header bell and the navigation."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import Acknowledgement, AlertGroup, AlertTransition, Notification, Silence
from tests.alerts.factories import (
    AcknowledgementFactory,
    AlertInstanceFactory,
    AlertRuleFactory,
    NotificationChannelFactory,
)
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def firing_instance(**kwargs):
    rule = kwargs.pop("rule", None) or AlertRuleFactory(
        name="Department over budget",
        metric="budget_variance_pct",
        scope="department",
        comparator="gt",
        threshold=Decimal("5"),
        recovery_threshold=Decimal("3"),
        severity="critical",
    )
    defaults = {
        "rule": rule,
        "scope_key": "MKT",
        "scope_label": "Marketing",
        "state": "firing",
        "value": Decimal("7.2500"),
        "state_since": NOW - dt.timedelta(hours=2),
        "fired_at": NOW - dt.timedelta(hours=2),
        "last_evaluated_at": NOW - dt.timedelta(minutes=5),
        "samples": [
            ["2026-12-01T09:00:00+00:00", "4.1000"],
            ["2026-12-01T09:05:00+00:00", None],
            ["2026-12-01T09:10:00+00:00", "7.2500"],
        ],
    }
    return AlertInstanceFactory(**{**defaults, **kwargs})


def transition(instance, to_state, at, value="7.25", from_state="normal", note=""):
    return AlertTransition.objects.create(
        instance=instance,
        from_state=from_state,
        to_state=to_state,
        value=None if value is None else Decimal(value),
        tick=at,
        at=at,
        note=note,
    )


# --- permissions -----------------------------------------------------------------------


def action_urls(pk):
    return [f"/alerts/{pk}/{name}/" for name in ("acknowledge", "decide", "silence", "resolve")]


def test_anonymous_is_sent_to_login(client):
    instance = firing_instance()
    for url in ["/alerts/", f"/alerts/{instance.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for url in action_urls(instance.pk):
        response = client.post(url, {})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_every_page_and_action_needs_the_view_permission(client, no_role_user):
    instance = firing_instance()
    client.force_login(no_role_user)
    assert client.get("/alerts/").status_code == 403
    assert client.get(f"/alerts/{instance.pk}/").status_code == 403
    for url in action_urls(instance.pk):
        assert client.post(url, {"note": "x"}).status_code == 403
    assert Acknowledgement.objects.count() == 0


def test_a_viewer_without_action_permissions_sees_no_form_and_gets_403(client, project_manager):
    instance = firing_instance()
    client.force_login(project_manager)
    page = client.get(f"/alerts/{instance.pk}/")
    assert page.status_code == 200
    assert b'id="acknowledge-form"' not in page.content
    assert b'id="silence-form"' not in page.content
    assert b'id="resolve-form"' not in page.content
    for url in action_urls(instance.pk):
        assert client.post(url, {"note": "x", "decision": "y"}).status_code == 403
    assert Silence.objects.count() == 0
    instance.refresh_from_db()
    assert instance.state == "firing"


def test_actions_answer_only_post(client, finance_viewer):
    instance = firing_instance()
    client.force_login(finance_viewer)
    for url in action_urls(instance.pk):
        assert client.get(url).status_code == 405


def test_an_unknown_alert_is_404(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get("/alerts/999999/").status_code == 404


# --- the list --------------------------------------------------------------------------


def test_list_shows_firing_then_pending_with_value_condition_and_acknowledgement(
    client, finance_viewer, django_assert_max_num_queries
):
    critical = firing_instance()
    AcknowledgementFactory(
        instance=critical, owner=finance_viewer, fired_at=critical.fired_at, note="On it"
    )
    warning_rule = AlertRuleFactory(
        name="Campaign ROI below zero",
        metric="campaign_roi",
        scope="campaign",
        comparator="lt",
        threshold=Decimal("0"),
        severity="warning",
        pending_evaluations=3,
    )
    pending = AlertInstanceFactory(
        rule=warning_rule,
        scope_key="Spring",
        scope_label="Spring",
        state="pending",
        value=Decimal("-12.5"),
        breaches=2,
    )
    AlertInstanceFactory(rule=warning_rule, scope_key="Autumn", state="normal")
    client.force_login(finance_viewer)
    client.get("/alerts/")  # permissions and session cached
    with django_assert_max_num_queries(14):
        page = client.get("/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    table = html.split('id="active-alerts"')[1].split("</table>")[0]
    rows = re.findall(r'data-instance="(\d+)"', table)
    assert rows == [str(critical.pk), str(pending.pk)]  # firing before pending; normal left out
    assert "7.3%" in table  # 7.25 shown with one decimal, half-up
    assert "above 5.0% (recovers past 3.0%)" in table
    assert "\u221212.5%" in table and "below 0.0%" in table
    assert "2 of 3" in table  # the pending count
    assert "fiona" in table and "On it" not in table  # the owner; the note is on the alert
    assert 'id="firing-total">1 firing' in html and 'id="pending-total">1 pending' in html


def test_list_says_what_to_do_when_nothing_fires(client, finance_viewer):
    client.force_login(finance_viewer)
    html = client.get("/alerts/").content.decode()
    assert 'id="no-active"' in html and "Nothing is firing or pending" in html
    assert 'id="no-history"' in html
    assert "undefined" not in html.lower()


def history_rows(html: str) -> list[str]:
    table = html.split('id="history"')[1].split("</table>")[0] if 'id="history"' in html else ""
    return re.findall(r'<tr data-to="([a-z_]+)">', table)


def test_history_filters_by_state_severity_rule_metric_and_dates(client, finance_viewer):
    budget = firing_instance()
    roi_rule = AlertRuleFactory(
        name="ROI",
        metric="campaign_roi",
        scope="campaign",
        comparator="lt",
        threshold=Decimal("0"),
        severity="info",
    )
    roi = AlertInstanceFactory(rule=roi_rule, scope_key="Spring", state="resolved")
    day = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)
    transition(budget, "pending", day)
    transition(budget, "firing", day + dt.timedelta(days=1), from_state="pending")
    transition(roi, "firing", day + dt.timedelta(days=2), value="-3")
    transition(roi, "resolved", day + dt.timedelta(days=3), value="1", from_state="firing")
    client.force_login(finance_viewer)

    def rows(**params):
        response = client.get("/alerts/", params)
        assert response.status_code == 200
        return history_rows(response.content.decode())

    assert rows() == ["resolved", "firing", "firing", "pending"]  # newest first
    assert rows(state="firing") == ["firing", "firing"]
    assert rows(severity="info") == ["resolved", "firing"]
    assert rows(rule=budget.rule.pk) == ["firing", "pending"]
    assert rows(metric="campaign_roi") == ["resolved", "firing"]
    assert rows(since="2026-11-11", until="2026-11-12") == ["firing", "firing"]
    assert rows(since="2026-11-14") == []


def test_history_is_paginated(client, finance_viewer, django_assert_max_num_queries):
    instance = firing_instance()
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    AlertTransition.objects.bulk_create(
        AlertTransition(
            instance=instance,
            from_state="normal",
            to_state="pending",
            tick=start + dt.timedelta(minutes=i),
            at=start + dt.timedelta(minutes=i),
        )
        for i in range(55)
    )
    client.force_login(finance_viewer)
    first = client.get("/alerts/", {"state": "pending"}).content.decode()
    assert len(history_rows(first)) == 50
    assert "Rows 1\u201350 of 55" in first and "state=pending&amp;page=2" in first
    with django_assert_max_num_queries(14):
        second = client.get("/alerts/", {"state": "pending", "page": 2}).content.decode()
    assert len(history_rows(second)) == 5


def test_a_bad_filter_is_400_naming_it(client, finance_viewer):
    client.force_login(finance_viewer)
    response = client.get(
        "/alerts/", {"state": "exploded", "since": "2026-12-05", "until": "2026-12-01"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "The end date is before the start date." in html


# --- one alert -------------------------------------------------------------------------


def chart_of(html: str) -> dict:
    match = re.search(
        r'<script id="chart-samples-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, "no chart data"
    return json.loads(match.group(1))


def test_detail_chart_draws_the_samples_with_threshold_and_a_table(client, finance_viewer):
    instance = firing_instance()
    client.force_login(finance_viewer)
    html = client.get(f"/alerts/{instance.pk}/").content.decode()
    chart = chart_of(html)
    assert chart["type"] == "line" and chart["valueKind"] == "percent"
    assert chart["series"][0]["values"] == ["4.1000", None, "7.2500"]
    assert [(r["label"], r["value"]) for r in chart["references"]] == [
        ("Threshold (above)", "5.0000"),
        ("Recovery threshold", "3.0000"),
    ]
    assert len(chart["labels"]) == 3
    table = html.split('data-table="samples"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="num">(.*?)</td>', table)
    assert cells == [
        "4.1%",
        "5.0%",
        '<span title="No value was read at this evaluation">\u2014</span>',
        "5.0%",
        "7.3%",
        "5.0%",
    ]
    assert 'src="/static/js/dashboards.js"' in html and "chart.umd.min.js" in html
    assert "undefined" not in html.lower()


def test_detail_without_samples_says_when_the_chart_fills(client, finance_viewer):
    instance = firing_instance(samples=[])
    client.force_login(finance_viewer)
    html = client.get(f"/alerts/{instance.pk}/").content.decode()
    assert 'id="no-samples"' in html and "chart-samples-data" not in html
    assert "dashboards.js" not in html


def test_detail_timeline_lists_transitions_acknowledgements_decisions_and_notifications(
    client, finance_viewer, superuser, django_assert_max_num_queries
):
    instance = firing_instance(labels={"item": "Marketing", "team": "fin"})
    other = firing_instance(
        scope_key="OPS", scope_label="Ops", labels={"item": "Ops", "team": "ops"}
    )
    transition(instance, "pending", NOW - dt.timedelta(hours=3), value="5.5")
    transition(instance, "firing", NOW - dt.timedelta(hours=2), from_state="pending")
    ack = AcknowledgementFactory(
        instance=instance,
        owner=finance_viewer,
        note="Checking the invoices",
        fired_at=instance.fired_at,
        created_at=NOW - dt.timedelta(hours=1),
        decision="Freeze discretionary spend",
        decided_by=superuser,
        decided_at=instance.fired_at + dt.timedelta(hours=1, minutes=30),
    )
    channel = NotificationChannelFactory(name="Finance mail")
    mine = AlertGroup.objects.create(
        rule=instance.rule, group_key='team="fin"', labels={"team": "fin"}
    )
    theirs = AlertGroup.objects.create(
        rule=other.rule, group_key='team="ops"', labels={"team": "ops"}
    )
    Notification.objects.create(
        group=mine,
        channel=channel,
        kind="firing",
        dedup_key="a",
        status="sent",
        attempts=1,
        created_at=NOW - dt.timedelta(minutes=110),
        sent_at=NOW - dt.timedelta(minutes=110),
    )
    Notification.objects.create(group=theirs, channel=channel, kind="firing", dedup_key="b")
    client.force_login(finance_viewer)
    client.get(f"/alerts/{instance.pk}/")
    with django_assert_max_num_queries(16):
        html = client.get(f"/alerts/{instance.pk}/").content.decode()
    timeline = html.split('id="timeline"')[1].split("</table>")[0]
    kinds = re.findall(r'data-kind="(\w+)"', timeline)
    # newest first: decision (fired + 1.5 h), ack (-1 h), notification (-110 min), firing, pending
    assert kinds == ["decision", "acknowledgement", "notification", "transition", "transition"]
    assert "Freeze discretionary spend" in timeline
    assert "Checking the invoices" in timeline
    assert "Firing notice to Finance mail" in timeline and "Sent after 1 attempt" in timeline
    assert "Normal → Pending" in timeline and "Pending → Firing" in timeline
    assert "5.5%" in timeline and "7.3%" in timeline  # the values seen, as the page shows them
    decisions = html.split('id="decisions"')[1].split("</table>")[0]
    assert "1.5" in decisions  # hours from firing to decision
    assert f'id="alert-ack">{finance_viewer.username} until' in html
    assert ack.pk


def test_detail_links_to_the_dashboard_figure_with_the_item_filter(client, finance_viewer):
    from records.models import Department

    source = ConnectorFactory(name="ERP")
    department = Department.objects.create(
        source=source, external_id="d1", name="Marketing", code="MKT"
    )
    instance = firing_instance()
    client.force_login(finance_viewer)
    html = client.get(f"/alerts/{instance.pk}/").content.decode()
    assert f'href="/dashboards/executive/?department={department.pk}"' in html

    connector = ConnectorFactory(name="Stripe", slug="stripe")
    rule = AlertRuleFactory(
        name="Sync failing",
        metric="sync_failures",
        scope="connector",
        comparator="gte",
        threshold=Decimal("3"),
    )
    failing = AlertInstanceFactory(
        rule=rule, scope_key=connector.slug, scope_label="Stripe", state="firing"
    )
    html = client.get(f"/alerts/{failing.pk}/").content.decode()
    assert 'href="/connectors/health/#connector-stripe"' in html


# --- actions ---------------------------------------------------------------------------


def local_input(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_acknowledge_creates_an_owned_acknowledgement(client, finance_viewer, project_manager):
    instance = firing_instance()
    client.force_login(finance_viewer)
    page = client.get(f"/alerts/{instance.pk}/").content.decode()
    assert 'id="acknowledge-form"' in page and "csrfmiddlewaretoken" in page
    # The owner defaults to the user.
    assert re.search(rf'<option value="{finance_viewer.pk}" selected>', page)
    until = timezone.now() + dt.timedelta(hours=6)
    response = client.post(
        f"/alerts/{instance.pk}/acknowledge/",
        {"owner": project_manager.pk, "note": "Pat checks it", "expires_at": local_input(until)},
    )
    assert response.status_code == 302 and response["Location"] == f"/alerts/{instance.pk}/"
    ack = Acknowledgement.objects.get()
    assert (ack.owner, ack.created_by, ack.note) == (
        project_manager,
        finance_viewer,
        "Pat checks it",
    )
    assert ack.fired_at == instance.fired_at
    assert abs(ack.expires_at - until) < dt.timedelta(minutes=1)
    page = client.get(f"/alerts/{instance.pk}/").content.decode()
    assert "Acknowledged" in page and 'id="decide-form"' in page


def test_acknowledge_refuses_a_past_expiry_and_a_non_firing_alert(client, finance_viewer):
    instance = firing_instance()
    client.force_login(finance_viewer)
    response = client.post(
        f"/alerts/{instance.pk}/acknowledge/",
        {
            "owner": finance_viewer.pk,
            "expires_at": local_input(timezone.now() - dt.timedelta(hours=1)),
        },
    )
    assert response.status_code == 400 and "Pick a time in the future." in response.content.decode()
    instance.state = "resolved"
    instance.save()
    response = client.post(
        f"/alerts/{instance.pk}/acknowledge/",
        {
            "owner": finance_viewer.pk,
            "expires_at": local_input(timezone.now() + dt.timedelta(hours=1)),
        },
        follow=True,
    )
    assert "Only a firing alert can be acknowledged." in response.content.decode()
    assert Acknowledgement.objects.count() == 0


def test_record_a_decision(client, finance_viewer):
    instance = firing_instance()
    ack = AcknowledgementFactory(
        instance=instance, owner=finance_viewer, fired_at=instance.fired_at
    )
    client.force_login(finance_viewer)
    response = client.post(
        f"/alerts/{instance.pk}/decide/",
        {"acknowledgement": ack.pk, "decision": "Cut the Q4 ad budget"},
    )
    assert response.status_code == 302
    ack.refresh_from_db()
    assert ack.decision == "Cut the Q4 ad budget" and ack.decided_by == finance_viewer
    assert ack.decided_at is not None
    # Another alert's acknowledgement cannot be decided through this one.
    other = AcknowledgementFactory(owner=finance_viewer)
    assert (
        client.post(
            f"/alerts/{instance.pk}/decide/", {"acknowledgement": other.pk, "decision": "x"}
        ).status_code
        == 404
    )


def test_silence_prefills_the_labels_and_creates_the_silence(client, finance_viewer):
    instance = firing_instance()
    client.force_login(finance_viewer)
    page = client.get(f"/alerts/{instance.pk}/").content.decode()
    assert "item = Marketing" in page and "scope_key = MKT" in page
    until = timezone.now() + dt.timedelta(days=1)
    response = client.post(
        f"/alerts/{instance.pk}/silence/",
        {
            "matchers": 'item = Marketing\nseverity =~ "crit.*"',
            "ends_at": local_input(until),
            "comment": "Budget re-forecast this week",
        },
    )
    assert response.status_code == 302
    silence = Silence.objects.get()
    assert silence.matchers == [
        {"label": "item", "op": "=", "value": "Marketing"},
        {"label": "severity", "op": "=~", "value": "crit.*"},
    ]
    assert silence.created_by == finance_viewer
    assert silence.history.get().history_user == finance_viewer  # audited


def test_silence_names_a_bad_matcher(client, finance_viewer):
    instance = firing_instance()
    client.force_login(finance_viewer)
    until = local_input(timezone.now() + dt.timedelta(days=1))
    response = client.post(
        f"/alerts/{instance.pk}/silence/",
        {"matchers": "item ~ x", "ends_at": until, "comment": "c"},
    )
    assert response.status_code == 400
    assert "Line 1 (&#x27;item ~ x&#x27;)" in response.content.decode()
    response = client.post(
        f"/alerts/{instance.pk}/silence/",
        {"matchers": "item =~ (", "ends_at": until, "comment": "c"},
    )
    assert response.status_code == 400
    assert "Matcher 1: the regular expression does not compile" in response.content.decode()
    assert Silence.objects.count() == 0


def test_resolve_by_hand_needs_its_permission(client, finance_viewer, project_manager):
    instance = firing_instance()
    client.force_login(project_manager)  # sees alerts, may not resolve them
    assert client.post(f"/alerts/{instance.pk}/resolve/", {"note": "x"}).status_code == 403
    client.force_login(finance_viewer)
    response = client.post(f"/alerts/{instance.pk}/resolve/", {"note": "Fixed the mapping"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.state == "resolved"
    last = instance.transitions.get()
    assert (last.from_state, last.to_state) == ("firing", "resolved")
    assert "Fixed the mapping" in last.note and finance_viewer.username in last.note
    page = client.get(f"/alerts/{instance.pk}/").content.decode()
    assert 'id="resolve-form"' not in page  # nothing left to resolve


# --- the bell and the navigation -------------------------------------------------------


def test_bell_shows_the_firing_count_to_viewers_only(client, finance_viewer, no_role_user):
    firing_instance()
    firing_instance(scope_key="OPS", scope_label="Ops")
    firing_instance(scope_key="HR", scope_label="HR", state="pending")
    client.force_login(finance_viewer)
    html = client.get("/").content.decode()
    bell = re.search(r'<a class="bell" id="alerts-bell" href="/alerts/"[^>]*>.*?</a>', html, re.S)
    assert bell and 'aria-label="Alerts: 2 firing"' in bell.group(0)
    assert '<span class="badge bad">2</span>' in bell.group(0)
    assert '<a href="/alerts/">Alerts</a>' in html  # the navigation entry
    client.force_login(no_role_user)
    html = client.get("/").content.decode()
    assert "alerts-bell" not in html and 'href="/alerts/"' not in html


def test_bell_costs_one_query_and_none_for_anonymous(rf, finance_viewer, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    from alerts.context_processors import alerts_bell

    firing_instance()
    request = rf.get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        bell = alerts_bell(request)["alerts_bell"]
        assert not bell.visible and bell.count == 0
    request.user = finance_viewer
    finance_viewer.has_perm("alerts.view_alertinstance")  # permissions cached on the user
    with django_assert_num_queries(1):
        bell = alerts_bell(request)["alerts_bell"]
        assert bell.visible and bell.count == 1 and bell.count == 1
