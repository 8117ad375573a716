"""Evidence FinHub checks itself for checklist items (issue #18, 11): the checks over
hand-made facts, the set-based refresh that stores their answers, and how the programme
names them."""

import datetime
from dataclasses import replace

from django.urls import reverse
from django.utils import timezone

from finhub.core import roles
from roadmap import programme as spec
from roadmap.evidence import (
    CHECKS,
    MISSING,
    UNAVAILABLE,
    VERIFIED,
    AlertingFact,
    CloseFact,
    EvidenceFacts,
    ReportFact,
    ReportingFact,
    SourceFact,
    evidence_for,
)
from roadmap.models import ChecklistItem, Risk, WorkItem
from roadmap.services import checklist_evidence_refresh, programme_load

NOW = timezone.make_aware(datetime.datetime(2026, 11, 27, 10, 0))
SYNCED = SourceFact(
    name="Sandbox ERP",
    kind="erp",
    kind_label="ERP / general ledger",
    last_success_at=NOW - datetime.timedelta(minutes=3),
    status_label="Fresh",
)
BUDGET = ReportFact(
    kind="budget_variance",
    computed_at=NOW,
    period="01 Jan 2026 to 27 Nov 2026",
    detail="budget vs actual on 14 rows by department",
)


def facts(*sources, **reports):
    return EvidenceFacts(checked_at=NOW, sources=sources, reports=reports)


# --- the checks --------------------------------------------------------------------------


def test_a_connector_of_the_kind_that_synced_verifies_the_item():
    evidence = evidence_for("connector_synced:erp", facts(SYNCED))
    assert evidence.state == VERIFIED
    assert "Sandbox ERP" in evidence.summary and "27 Nov 2026 09:57" in evidence.summary
    assert evidence.link == "connectors:health"


def test_a_connector_that_never_synced_or_none_at_all_is_not_evidence():
    never = SourceFact("Sandbox ERP", "erp", "ERP / general ledger", None, "Never synced")
    other_kind = SourceFact("Sandbox CRM", "crm", "CRM / sales", NOW, "Fresh")
    waiting = evidence_for("connector_synced:erp", facts(never, other_kind))
    assert (waiting.state, waiting.summary) == (
        MISSING,
        "Sandbox ERP has not synced successfully yet.",
    )
    nothing = evidence_for("connector_synced:erp", facts(other_kind))
    assert nothing.state == MISSING and "No ERP / general ledger connector" in nothing.summary


def test_a_dashboard_whose_figures_exist_verifies_the_item():
    evidence = evidence_for("report_has_figures:budget_variance", facts(budget_variance=BUDGET))
    assert evidence.state == VERIFIED
    assert evidence.summary.startswith("Executive dashboard: budget vs actual on 14 rows")
    assert evidence.link == "dashboards:executive"
    missing = evidence_for("report_has_figures:budget_variance", facts())
    assert missing.state == MISSING and missing.link == "dashboards:executive"


def test_alerts_are_configured_once_rules_are_evaluated_and_one_notifies():
    at = datetime.datetime(2026, 11, 27, 9, 30)

    def alerts(enabled, notifying, evaluated):
        given = facts()
        given = replace(given, alerting=AlertingFact(enabled, notifying, evaluated))
        return evidence_for("alerts_configured", given)

    assert evidence_for("alerts_configured", facts()).summary == "No alert rule is enabled."
    assert alerts(0, 0, None).state == MISSING
    assert "none evaluated yet" in alerts(7, 1, None).summary
    silent = alerts(7, 0, at)
    assert silent.state == MISSING and "none notifies anyone" in silent.summary
    done = alerts(7, 2, at)
    assert (done.state, done.link) == (VERIFIED, "alerts:list")
    assert done.summary == (
        "7 alert rule(s) enabled, 2 notifying through a channel; last evaluated 27 Nov 2026 09:30."
    )


def test_a_close_verifies_automation_once_its_pack_is_delivered_and_the_period_locked():
    at = datetime.datetime(2026, 11, 4, 15, 0)

    def close(delivered, locked):
        given = replace(facts(), close=CloseFact("2026-10", 5, delivered, locked))
        return evidence_for("close_automated", given)

    assert evidence_for("close_automated", facts()).state == MISSING
    running = close(None, None)
    assert running.state == MISSING and "not delivered its pack" in running.summary
    assert close(at, None).state == MISSING
    done = close(at, at)
    assert (done.state, done.link) == (VERIFIED, "closing:list")
    assert done.summary == (
        "The 2026-10 close ran 5 automated tasks; pack delivered 04 Nov 2026 15:00, "
        "period locked 04 Nov 2026 15:00."
    )


def test_report_packs_delivered_verify_the_reporting_suite():
    at = datetime.datetime(2026, 11, 5, 7, 0)
    assert evidence_for("reports_delivered", facts()).state == MISSING
    none_yet = replace(facts(), reporting=ReportingFact(0, None, 10))
    assert evidence_for("reports_delivered", none_yet).state == MISSING
    done = evidence_for("reports_delivered", replace(facts(), reporting=ReportingFact(3, at, 10)))
    assert (done.state, done.link) == (VERIFIED, "reports:index")
    assert done.summary == "10 reports; 3 pack delivery(ies), the last 05 Nov 2026 07:00."


def test_what_finhub_cannot_see_stays_unverified_with_the_reason():
    assert evidence_for("tests_passing", facts()).state == UNAVAILABLE
    assert evidence_for("no_such_check", facts()).state == UNAVAILABLE


def test_every_check_the_programme_names_exists():
    named = {d.evidence_check for p in spec.PHASES for d in p.deliverables} - {""}
    assert named <= set(CHECKS)
    assert "connector_synced:erp" in named and "report_has_figures:budget_variance" in named


# --- the programme -----------------------------------------------------------------------


def test_load_names_the_checks_and_gives_each_row_the_owner_of_its_role(
    finance_viewer, project_manager, integration_admin
):
    owners = {
        roles.FINANCE_VIEWER: finance_viewer,
        roles.PROJECT_MANAGER: project_manager,
        roles.INTEGRATION_ADMIN: integration_admin,
    }
    programme_load(owners=owners)
    erp = ChecklistItem.objects.get(key="p1-erp-api-connection")
    assert (erp.evidence_check, erp.owner) == ("connector_synced:erp", integration_admin)
    executive = ChecklistItem.objects.get(key="p1-executive-dashboard")
    assert executive.owner == finance_viewer
    assert ChecklistItem.objects.get(key="pre-team-and-governance").owner == project_manager
    assert not ChecklistItem.objects.filter(owner=None).exists()
    assert not WorkItem.objects.filter(owner=None).exists()
    assert not Risk.objects.filter(owner=None).exists()
    assert ChecklistItem.objects.exclude(evidence_check="").count() == 14


def test_load_without_owners_leaves_rows_unowned(programme):
    assert not ChecklistItem.objects.exclude(owner=None).exists()


# --- the refresh -------------------------------------------------------------------------


def test_refresh_stores_each_answer_with_a_link(programme):
    result = checklist_evidence_refresh(facts=facts(SYNCED, budget_variance=BUDGET))
    assert result.checked == 14
    assert result.verified == 2
    erp = ChecklistItem.objects.get(key="p1-erp-api-connection")
    assert erp.evidence_state == "verified"
    assert erp.evidence_link == reverse("connectors:health")
    assert erp.evidence_checked_at == NOW and erp.evidence_verified_since == NOW
    crm = ChecklistItem.objects.get(key="p2-marketing-integrations")
    assert (crm.evidence_state, crm.evidence_verified_since) == ("missing", None)
    alerts = ChecklistItem.objects.get(key="p3-automated-alerts")  # no alerting facts given
    assert alerts.evidence_state == "missing" and alerts.evidence_link == reverse("alerts:list")
    tests = ChecklistItem.objects.get(key="p4-integration-tests")
    assert tests.evidence_state == "unavailable" and tests.evidence_link == ""
    manual = ChecklistItem.objects.get(key="pre-identify-systems")
    assert (manual.evidence_state, manual.evidence_checked_at) == ("", None)


def test_a_first_verification_marks_the_item_done_by_nobody_with_the_reason(programme):
    result = checklist_evidence_refresh(facts=facts(SYNCED))
    assert result.completed == ["p1-erp-api-connection"]
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    assert (item.status, item.completed_by, item.completed_at) == ("done", None, NOW)
    latest = item.history.latest()
    assert latest.history_user is None
    assert latest.history_change_reason.startswith("Evidence verified by FinHub")


def test_a_reopened_item_is_not_overruled_while_its_evidence_holds(programme, project_manager):
    from roadmap.services import checklist_item_update

    checklist_evidence_refresh(facts=facts(SYNCED))
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    checklist_item_update(item=item, user=project_manager, status="in_progress")
    later = EvidenceFacts(checked_at=NOW + datetime.timedelta(minutes=2), sources=(SYNCED,))
    assert checklist_evidence_refresh(facts=later).completed == []
    item.refresh_from_db()
    assert item.status == "in_progress"
    assert item.evidence_verified_since == NOW  # verified without a break since the first
    assert item.evidence_checked_at == later.checked_at


def test_closed_items_keep_their_status(programme):
    ChecklistItem.objects.filter(key="p1-erp-api-connection").update(status="not_applicable")
    assert checklist_evidence_refresh(facts=facts(SYNCED)).completed == []
    assert ChecklistItem.objects.get(key="p1-erp-api-connection").status == "not_applicable"


def test_evidence_that_goes_away_is_shown_as_such(programme):
    checklist_evidence_refresh(facts=facts(SYNCED))
    checklist_evidence_refresh(facts=facts())
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    assert (item.status, item.evidence_state, item.evidence_verified_since) == (
        "done",
        "missing",
        None,
    )


def test_a_recheck_adds_no_history_row(programme):
    checklist_evidence_refresh(facts=facts())
    item = ChecklistItem.objects.get(key="p2-cac-monitoring")
    before = item.history.count()
    checklist_evidence_refresh(facts=facts())
    assert item.history.count() == before


def test_refresh_queries_do_not_grow_with_the_items(programme, django_assert_max_num_queries):
    # Savepoint, read (locked), bulk write, release; a newly done item costs its own save.
    with django_assert_max_num_queries(4):
        checklist_evidence_refresh(facts=facts())
    for number in range(40):
        ChecklistItem.objects.create(
            programme=programme,
            kind="pre_implementation",
            key=f"extra-{number}",
            title=f"Extra {number}",
            evidence_check="tests_passing",
        )
    with django_assert_max_num_queries(4):
        result = checklist_evidence_refresh(facts=facts())
    assert result.checked == 54


# --- where it shows ----------------------------------------------------------------------


def test_the_dashboard_lists_the_evidence_with_its_link(client, programme, finance_viewer):
    checklist_evidence_refresh(facts=facts(SYNCED))
    client.force_login(finance_viewer)
    body = client.get(reverse("roadmap:dashboard")).content.decode()
    assert 'id="evidence-table"' in body
    assert 'data-key="p1-erp-api-connection" data-evidence="verified"' in body
    assert f'<a href="{reverse("connectors:health")}">See the evidence</a>' in body
    assert 'data-key="p4-integration-tests" data-evidence="unavailable"' in body


def test_the_admin_shows_the_evidence_and_checks_it_on_demand(client, programme, project_manager):
    client.force_login(project_manager)
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    change = client.get(reverse("admin:roadmap_checklistitem_change", args=[item.pk]))
    assert "Evidence checked by FinHub" in change.content.decode()
    changelist = reverse("admin:roadmap_checklistitem_changelist")
    response = client.post(
        changelist,
        {"action": "check_evidence", "_selected_action": [item.pk]},
        follow=True,
    )
    assert "Evidence checked for 14 item(s)" in response.content.decode()
    item.refresh_from_db()
    assert item.evidence_state == "missing"  # no connector in this database
    listing = client.get(changelist).content.decode()
    assert "Not verified yet" in listing
