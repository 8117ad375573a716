"""Phase exit gates: a phase is completed only on evidence, or by an audited override."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from finhub.core.roles import PROJECT_MANAGER
from finhub.core.services import roles_sync
from roadmap import gates
from roadmap.models import ChecklistItem, Phase, PhaseGateOverride, SuccessMetric
from roadmap.selectors import governance_dashboard, phase_gate
from roadmap.services import (
    PhaseGateError,
    measurement_record,
    phase_complete,
    phase_reopen,
)

pytestmark = pytest.mark.django_db

P1_DELIVERABLES = (
    "p1-erp-api-connection",
    "p1-budget-tool-integration",
    "p1-revenue-attribution-tracking",
    "p1-executive-dashboard",
)


def phase1(programme) -> Phase:
    return programme.phases.get(number=1)


def set_status(key, status):
    item = ChecklistItem.objects.get(key=key)
    item.status = status
    item.save()


def close_phase1_deliverables():
    for key in P1_DELIVERABLES[:-1]:
        set_status(key, "done")
    set_status(P1_DELIVERABLES[-1], "not_applicable")  # closes it too


def measure(key, value, *, hours_ago=0):
    measurement_record(
        metric_key=key,
        value=Decimal(value),
        measured_at=timezone.now() - datetime.timedelta(hours=hours_ago),
    )


@pytest.fixture
def overrider(project_manager):
    """A project manager an administrator granted the override permission."""
    project_manager.user_permissions.add(
        Permission.objects.get(content_type__app_label="roadmap", codename="override_phase_gate")
    )
    return type(project_manager).objects.get(pk=project_manager.pk)  # fresh permission cache


def test_shipped_phases_own_their_metrics(programme):
    owned = {
        p.number: sorted(p.gate_metrics.values_list("key", flat=True))
        for p in programme.phases.all()
    }
    assert owned[1] == ["api_reliability", "data_sync_accuracy"]
    assert "campaign_roi_tracking_capability" in owned[2]
    assert "financial_query_response_time" in owned[4]
    assert all(p.gate_requires_deliverables for p in programme.phases.all())
    # Six weeks in: phases 1 and 2 have started, 3 and 4 not yet.
    assert list(programme.phases.values_list("status", flat=True)) == [
        "in_progress",
        "in_progress",
        "planned",
        "planned",
    ]


def test_gate_blocks_then_allows_completion(programme, project_manager):
    phase = phase1(programme)
    gate = phase_gate(phase=phase)
    assert not gate.holds
    assert {c.key: c.state for c in gate.criteria} == {
        **dict.fromkeys(P1_DELIVERABLES, gates.NOT_MET),
        "data_sync_accuracy": gates.NOT_MEASURED,
        "api_reliability": gates.NOT_MEASURED,
    }

    # Deliverables closed, one metric below its target: still blocked, and the error names it.
    close_phase1_deliverables()
    measure("data_sync_accuracy", "99.95")
    measure("api_reliability", "98.0")  # target >= 99.5
    with pytest.raises(PhaseGateError) as refused:
        phase_complete(phase=phase, user=project_manager)
    text = " ".join(refused.value.messages)
    assert "API reliability (uptime): not met" in text
    assert "Data synchronization accuracy" not in text
    phase.refresh_from_db()
    assert (phase.status, phase.completed_at) == ("in_progress", None)

    # One deliverable reopened blocks it too, with the metric at target.
    measure("api_reliability", "99.7")
    set_status("p1-erp-api-connection", "in_progress")
    with pytest.raises(PhaseGateError, match="ERP API connection established"):
        phase_complete(phase=phase, user=project_manager)

    set_status("p1-erp-api-connection", "done")
    assert phase_gate(phase=phase).holds
    phase_complete(phase=phase, user=project_manager)
    phase.refresh_from_db()
    assert phase.status == "complete"
    assert phase.completed_by == project_manager and phase.completed_at is not None
    assert not PhaseGateOverride.objects.exists()
    record = phase.history.latest()
    assert (record.history_user, record.history_change_reason) == (
        project_manager,
        "Completed: its gate held",
    )
    with pytest.raises(PhaseGateError, match="already complete"):
        phase_complete(phase=phase, user=project_manager)


def test_a_stale_metric_does_not_hold_the_gate(programme, project_manager):
    close_phase1_deliverables()
    measure("data_sync_accuracy", "99.95", hours_ago=37)  # daily: stale after 36 h
    measure("api_reliability", "99.9")
    gate = phase_gate(phase=phase1(programme))
    assert [c.state for c in gate.unmet] == [gates.STALE]
    measure("data_sync_accuracy", "99.95")
    assert phase_gate(phase=phase1(programme)).holds


def test_deliverables_are_not_criteria_when_the_phase_does_not_require_them(programme):
    phase = phase1(programme)
    phase.gate_requires_deliverables = False
    phase.save()
    phase.gate_metrics.set(SuccessMetric.objects.filter(key="api_reliability"))
    measure("api_reliability", "99.9")
    gate = phase_gate(phase=phase)
    assert [c.key for c in gate.criteria] == ["api_reliability"]
    assert gate.holds


def test_override_without_the_permission_is_denied(programme, project_manager):
    phase = phase1(programme)
    with pytest.raises(PhaseGateError):  # no reason: the unmet criteria
        phase_complete(phase=phase, user=project_manager)
    with pytest.raises(PermissionDenied):
        phase_complete(phase=phase, user=project_manager, override_reason="Board said so")
    phase.refresh_from_db()
    assert phase.status == "in_progress"
    assert not PhaseGateOverride.objects.exists()


def test_override_with_the_permission_and_a_reason_is_audited(programme, overrider):
    phase = phase1(programme)
    measure("data_sync_accuracy", "99.95")
    with pytest.raises(PhaseGateError):  # the permission alone does not skip the gate
        phase_complete(phase=phase, user=overrider, override_reason="   ")

    phase_complete(phase=phase, user=overrider, override_reason="ERP vendor signed off")
    phase.refresh_from_db()
    assert (phase.status, phase.completed_by) == ("complete", overrider)
    override = PhaseGateOverride.objects.get()
    assert (override.phase, override.user, override.reason) == (
        phase,
        overrider,
        "ERP vendor signed off",
    )
    assert override.at == phase.completed_at
    assert sorted(c["key"] for c in override.unmet) == sorted([*P1_DELIVERABLES, "api_reliability"])
    assert {c["state"] for c in override.unmet} == {"not_met", "not_measured"}
    assert phase.history.latest().history_change_reason == (
        "Completed by override: ERP vendor signed off"
    )

    # The dashboard tells an overridden completion apart.
    row = next(p for p in governance_dashboard(with_gates=True).phases if p.number == 1)
    assert row.status == "complete" and row.override_reason == "ERP vendor signed off"

    # Reopened: back in progress; the override stays on record but no longer describes it.
    phase_reopen(phase=phase, user=overrider, reason="vendor withdrew")
    phase.refresh_from_db()
    assert (phase.status, phase.completed_at, phase.completed_by) == ("in_progress", None, None)
    assert PhaseGateOverride.objects.count() == 1
    row = next(p for p in governance_dashboard(with_gates=True).phases if p.number == 1)
    assert row.override_reason == ""


def test_no_role_holds_the_override_permission(project_manager, superuser):
    roles_sync()
    codename = "override_phase_gate"
    pm_group = Group.objects.get(name=PROJECT_MANAGER)
    # The PM manages the roadmap app: every default permission of it, not the custom one.
    assert pm_group.permissions.filter(codename="change_phase").exists()
    assert not Group.objects.filter(permissions__codename=codename).exists()
    assert not project_manager.has_perm(f"roadmap.{codename}")
    assert superuser.has_perm(f"roadmap.{codename}")


# --- admin ---------------------------------------------------------------------------------


def complete_url(phase) -> str:
    return f"/admin/roadmap/phase/{phase.pk}/complete/"


def test_admin_mark_complete_is_blocked_with_the_reasons(client, programme, project_manager):
    phase = phase1(programme)
    client.force_login(project_manager)
    page = client.get(complete_url(phase))
    assert page.status_code == 200
    body = page.content.decode()
    assert "ERP API connection established" in body and "Not measured" in body
    assert 'name="override_reason"' not in body  # no permission: no override form

    response = client.post(complete_url(phase), {})
    assert response.status_code == 200
    assert "its gate does not hold" in response.content.decode()
    phase.refresh_from_db()
    assert phase.status == "in_progress"
    # A reason posted anyway is refused, not ignored.
    assert client.post(complete_url(phase), {"override_reason": "x"}).status_code == 403

    close_phase1_deliverables()
    measure("data_sync_accuracy", "99.95")
    measure("api_reliability", "99.9")
    response = client.post(complete_url(phase), {})
    assert response.status_code == 302
    phase.refresh_from_db()
    assert phase.status == "complete"


def test_admin_override_form_for_the_permitted(client, programme, overrider):
    phase = phase1(programme)
    client.force_login(overrider)
    assert 'name="override_reason"' in client.get(complete_url(phase)).content.decode()
    response = client.post(complete_url(phase), {"override_reason": "Accepted by the board"})
    assert response.status_code == 302
    assert PhaseGateOverride.objects.get().reason == "Accepted by the board"
    overrides = client.get(reverse("admin:roadmap_phasegateoverride_changelist"))
    assert overrides.status_code == 200 and "Accepted by the board" in overrides.content.decode()
    add = client.get(reverse("admin:roadmap_phasegateoverride_add"))
    assert add.status_code == 403  # the audit is written by the service only


def test_admin_form_cannot_set_complete(client, programme, project_manager):
    phase = phase1(programme)
    client.force_login(project_manager)
    url = reverse("admin:roadmap_phase_change", args=[phase.pk])
    admin_form = client.get(url).context["adminform"]
    choices = [value for value, _ in admin_form.form.fields["status"].choices]
    assert "complete" not in choices and "in_progress" in choices
    assert "gate" in admin_form.readonly_fields

    Phase.objects.filter(pk=phase.pk).update(status="complete", completed_at=timezone.now())
    assert "status" not in client.get(url).context["adminform"].form.fields  # reopen instead


def test_api_phase_shows_status_and_gate_but_cannot_write(programme, finance_viewer):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(finance_viewer)
    phase = api.get("/api/v1/roadmap/phases/").json()["results"][0]
    assert phase["status"] == "in_progress"
    assert sorted(phase["gate_metrics"]) == ["api_reliability", "data_sync_accuracy"]
    assert phase["gate_requires_deliverables"] is True
    pk = phase["id"]
    assert api.patch(f"/api/v1/roadmap/phases/{pk}/", {"status": "complete"}).status_code in (
        403,
        405,
    )


# --- the roadmap page ---------------------------------------------------------------------


def test_dashboard_shows_each_gate_with_evidence_and_links(client, programme, project_manager):
    set_status("p1-erp-api-connection", "done")
    measure("api_reliability", "99.9")
    client.force_login(project_manager)
    response = client.get(reverse("roadmap:dashboard"))
    body = response.content.decode()
    d = response.context["d"]
    gate1 = d.phases[0].gate
    assert gate1 is not None and not gate1.holds
    states = {c.key: c.state for c in gate1.criteria}
    assert states["p1-erp-api-connection"] == "met"
    assert states["p1-budget-tool-integration"] == "not_met"
    assert states["api_reliability"] == "met"
    assert states["data_sync_accuracy"] == "not_measured"
    assert 'id="gate-1"' in body and 'data-holds="no"' in body
    item = ChecklistItem.objects.get(key="p1-budget-tool-integration")
    assert reverse("admin:roadmap_checklistitem_change", args=[item.pk]) in body
    assert 'href="/roadmap/#metric-api_reliability"' in body
    assert 'id="metric-api_reliability"' in body  # the link's target on the scorecard
