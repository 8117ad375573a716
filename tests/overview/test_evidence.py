"""The roadmap's evidence read from the apps (overview/evidence.py), and the demo
programme on day one (issue #18, 11)."""

import datetime
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from connectors.models import Connector
from metrics.models import MetricSnapshot
from overview.evidence import evidence_facts, roadmap_evidence_refresh
from overview.tasks import roadmap_evidence_check
from roadmap.models import ChecklistItem, Programme, Risk, WorkItem
from roadmap.selectors import governance_dashboard
from roadmap.services import programme_load
from tests.factories import PullConnectorFactory

pytestmark = pytest.mark.django_db

_hashes = itertools.count()


def snapshot(kind, result, **params):
    today = timezone.localdate()
    return MetricSnapshot.objects.create(
        kind=kind,
        params={"start": "2026-01-01", "end": today.isoformat(), **params},
        params_hash=f"{next(_hashes):064d}",
        period_start=datetime.date(2026, 1, 1),
        period_end=today,
        result=result,
        **({"group_by": params["group_by"]} if "group_by" in params else {}),
    )


FIGURES = {
    "budget_variance": {"rows": [{"key": "4000", "account_type": "revenue"}]},
    "attribution": {"attributed_count": 412},
    "campaign_roi": {"tracking_capability": "0.9", "tracking_capability_percent": "90"},
    "sales": {"won_deals": 47},
    "cac": {"months": [{"month": "2026-10-01", "blended_cac": "18250.5"}]},
    "cs_roi": {
        "total": {"months": [{"month": "2026-10-01"}], "roi": "1.25"},
        "segments": [
            {"segment": "SMB", "roi": "0.5"},
            {"segment": "Enterprise", "roi": "undefined"},
        ],
    },
    "initiative_roi": {
        "initiatives": [
            {"name": "A", "payback_month": "2026-04-01"},
            {"name": "B", "payback_month": None},
        ]
    },
}


def all_reports_with_figures():
    for kind, result in FIGURES.items():
        snapshot(kind, result, group_by="department", model="linear")


def test_facts_name_the_sources_and_the_reports_with_figures():
    now = timezone.now()
    PullConnectorFactory(name="Sandbox ERP", kind="erp", last_success_at=now)
    PullConnectorFactory(name="Sandbox Budget", kind="budget")
    PullConnectorFactory(name="Switched off", kind="crm", enabled=False, last_success_at=now)
    snapshot("attribution", {"attributed_count": 0})  # computed, but nothing attributed
    snapshot("attribution", {"attributed_count": 412}, model="linear")
    snapshot("sales", {"won_deals": 0})
    snapshot("campaign_roi", {"tracking_capability": "undefined"})
    snapshot("cac", {"months": [{"month": "2026-10-01", "blended_cac": "undefined"}]})
    snapshot("budget_variance", {"rows": [{"key": "4000"}]}, group_by="department")
    # CS ROI computed but undefined (no CS cost): no figures; an initiative ROI report has.
    snapshot("cs_roi", {"total": {"months": [{"month": "2026-10-01"}], "roi": "undefined"}})
    snapshot("initiative_roi", FIGURES["initiative_roi"])

    facts = evidence_facts(now=now)

    assert {(s.name, s.last_success_at is not None) for s in facts.sources} == {
        ("Sandbox ERP", True),
        ("Sandbox Budget", False),
    }
    assert set(facts.reports) == {"attribution", "budget_variance", "initiative_roi"}
    assert facts.reports["initiative_roi"].detail == "ROI for 2 initiative(s), 1 paid back"
    assert facts.reports["attribution"].detail == "412 won deals attributed (linear model)"
    assert facts.reports["budget_variance"].detail == ("budget vs actual on 1 rows by department")


def test_facts_take_a_fixed_number_of_queries(django_assert_num_queries):
    all_reports_with_figures()
    PullConnectorFactory(kind="erp", last_success_at=timezone.now())
    # connectors + one per report kind + 3 for alerting + the latest close + the deliveries
    with django_assert_num_queries(13):
        evidence_facts()
    all_reports_with_figures()
    PullConnectorFactory(kind="crm", last_success_at=timezone.now())
    with django_assert_num_queries(13):
        evidence_facts()


def test_the_periodic_task_checks_and_reports():
    programme_load()
    PullConnectorFactory(kind="erp", last_success_at=timezone.now())
    result = roadmap_evidence_check()
    assert result == {"checked": 14, "verified": 1, "completed": ["p1-erp-api-connection"]}


def test_the_demo_programme_reads_as_in_progress_once_the_first_syncs_ran():
    call_command("load_demo")
    programme = Programme.objects.get()
    users = {user.username: user for user in get_user_model().objects.all()}

    # Owners: every row has the demo login of its role.
    assert not ChecklistItem.objects.filter(owner=None).exists()
    assert not WorkItem.objects.filter(owner=None).exists()
    assert not Risk.objects.filter(owner=None).exists()
    assert ChecklistItem.objects.get(key="p1-erp-api-connection").owner == users["integrations"]
    # Preparation was done by the PM before week 1.
    pre = ChecklistItem.objects.filter(kind="pre_implementation")
    assert set(pre.values_list("status", flat=True)) == {"done"}
    assert set(pre.values_list("completed_by__username", flat=True)) == {"pm"}
    assert all(item.completed_at.date() < programme.start_date for item in pre)
    # Today is in phase 2; before any sync only phase 1's four deliverables wait for evidence.
    board = governance_dashboard()
    assert next(p for p in board.phases if p.is_current).number == 2
    assert sorted(item.key for item in board.attention) == [
        "p1-budget-tool-integration",
        "p1-erp-api-connection",
        "p1-executive-dashboard",
        "p1-revenue-attribution-tracking",
    ]

    # The first syncs and recomputes ran: the sources synced, the dashboards have figures.
    Connector.objects.update(last_success_at=timezone.now())
    all_reports_with_figures()
    roadmap_evidence_refresh()

    board = governance_dashboard()
    assert board.attention == []
    phase1, phase2, phase3, phase4 = board.phases
    # Phase 3: product ROI and customer-success metrics verified; analytics and alerts not
    # (the built-in alert rules are enabled, but not evaluated yet and notify nobody).
    assert (phase1.percent, phase2.percent, phase3.percent, phase4.percent) == (100, 100, 50, 0)
    alerts = ChecklistItem.objects.get(key="p3-automated-alerts")
    assert alerts.evidence_state == "missing"
    assert "none evaluated yet" in alerts.evidence_summary

    # Loading again changes nothing: no second preparation, no owner moved.
    call_command("load_demo")
    assert ChecklistItem.objects.filter(kind="pre_implementation", status="done").count() == 4
