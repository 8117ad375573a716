import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from finhub.core.spreadsheets import CSV, XLSX
from roadmap.admin import ChecklistItemAdmin
from roadmap.models import ChecklistItem, Risk

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:roadmap_checklistitem_changelist")


def tick_post(item, status="done"):
    """What the changelist form sends when one row's status is changed in place."""
    return {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(item.pk),
        "form-0-status": status,
        "_save": "Save",
    }


def phase_percent(client, number):
    response = client.get(reverse("roadmap:dashboard"))
    return next(p.percent for p in response.context["d"].phases if p.number == number)


def test_pm_ticks_an_item_in_the_changelist_and_the_dashboard_moves(
    client, programme, project_manager
):
    client.force_login(project_manager)
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    assert phase_percent(client, 1) == 0

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert 'name="form-0-status"' in page.content.decode()  # editable in place

    response = client.post(CHANGELIST, tick_post(item))
    assert response.status_code == 302

    item.refresh_from_db()
    assert item.status == "done"
    assert item.completed_by == project_manager
    assert item.completed_at is not None
    assert phase_percent(client, 1) == 25

    record = item.history.latest()
    assert record.history_user == project_manager
    assert record.prev_record.status == "todo" and record.status == "done"


def test_history_page_shows_who_and_before_after(client, programme, project_manager):
    client.force_login(project_manager)
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    client.post(CHANGELIST, tick_post(item, "blocked"))
    page = client.get(reverse("admin:roadmap_checklistitem_history", args=[item.pk]))
    assert page.status_code == 200
    changes = page.context["page_obj"][0].history_delta_changes
    assert {c["field"]: (c["old"], c["new"]) for c in changes}["Status"] == ("To do", "Blocked")
    assert page.context["page_obj"][0].history_user.username == "pat"
    assert "pat" in page.content.decode()
    assert "Deleted user" not in page.content.decode()


def test_bulk_actions_mark_selected_done_and_blocked(client, programme, project_manager):
    client.force_login(project_manager)
    phase1 = list(ChecklistItem.objects.filter(phase__number=1).order_by("order"))
    response = client.post(
        CHANGELIST,
        {"action": "mark_done", "_selected_action": [i.pk for i in phase1[:3]]},
    )
    assert response.status_code == 302
    done = ChecklistItem.objects.filter(status="done")
    assert set(done) == set(phase1[:3])
    assert all(i.completed_by == project_manager for i in done)
    assert all(i.history.latest().history_user == project_manager for i in done)

    client.post(CHANGELIST, {"action": "mark_blocked", "_selected_action": [phase1[0].pk]})
    first = ChecklistItem.objects.get(pk=phase1[0].pk)
    assert first.status == "blocked"
    assert first.completed_at is None and first.completed_by is None
    assert phase_percent(client, 1) == 50


def test_finance_viewer_reads_but_every_change_is_forbidden(client, programme, finance_viewer):
    client.force_login(finance_viewer)
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert 'name="form-0-status"' not in page.content.decode()

    assert client.post(CHANGELIST, tick_post(item)).status_code == 403
    assert (
        client.post(CHANGELIST, {"action": "mark_done", "_selected_action": [item.pk]}).status_code
        == 403
    )
    change_url = reverse("admin:roadmap_checklistitem_change", args=[item.pk])
    assert client.get(change_url).status_code == 200  # read-only view
    assert client.post(change_url, {"status": "done"}).status_code == 403
    assert client.get(reverse("admin:roadmap_checklistitem_add")).status_code == 403
    assert client.get(reverse("admin:roadmap_checklistitem_import")).status_code == 403
    risk = Risk.objects.first()
    risk_url = reverse("admin:roadmap_risk_change", args=[risk.pk])
    assert client.post(risk_url, {"likelihood": 1}).status_code == 403
    item.refresh_from_db()
    assert item.status == "todo"
    assert item.history.count() == 1  # only the creation


def test_overdue_filter_and_highlight(client, programme, project_manager):
    client.force_login(project_manager)
    # Six weeks in: the pre-implementation items and phase 1 deliverables are overdue.
    response = client.get(CHANGELIST, {"overdue": "yes"})
    keys = {i.key for i in response.context["cl"].result_list}
    assert len(keys) == 8
    assert "pre-identify-systems" in keys and "p1-executive-dashboard" in keys
    assert "Overdue" in response.content.decode()

    ChecklistItem.objects.filter(key="p1-executive-dashboard").update(status="not_applicable")
    ChecklistItem.objects.filter(key="p3-automated-alerts").update(status="blocked")
    response = client.get(CHANGELIST, {"overdue": "yes"})
    assert len(response.context["cl"].result_list) == 7
    response = client.get(CHANGELIST, {"status__exact": "blocked"})
    assert [i.key for i in response.context["cl"].result_list] == ["p3-automated-alerts"]
    assert "Blocked" in response.content.decode()


def test_search_and_phase_filter(client, programme, project_manager):
    client.force_login(project_manager)
    response = client.get(CHANGELIST, {"q": "CAC"})
    assert [i.key for i in response.context["cl"].result_list] == ["p2-cac-monitoring"]
    phase3 = programme.phases.get(number=3)
    response = client.get(CHANGELIST, {"phase__id__exact": phase3.pk})
    assert len(response.context["cl"].result_list) == 4


def test_risk_list_is_sorted_by_score(client, programme, project_manager):
    client.force_login(project_manager)
    Risk.objects.filter(key="process-disruption").update(likelihood=5, impact=5)
    response = client.get(reverse("admin:roadmap_risk_changelist"))
    scores = [r.score for r in response.context["cl"].result_list]
    assert scores == sorted(scores, reverse=True)
    assert response.context["cl"].result_list[0].key == "process-disruption"


def test_phase_list_shows_progress(client, programme, project_manager):
    client.force_login(project_manager)
    ChecklistItem.objects.filter(key="p1-erp-api-connection").update(status="done")
    ChecklistItem.objects.filter(key="p1-executive-dashboard").update(status="not_applicable")
    response = client.get(reverse("admin:roadmap_phase_changelist"))
    assert "33% (1/3)" in response.content.decode()
    phase = programme.phases.get(number=1)
    change = client.get(reverse("admin:roadmap_phase_change", args=[phase.pk]))
    assert change.status_code == 200
    assert "ERP system integration" in change.content.decode()  # work items inline


def _export(client, model, file_format):
    url = reverse(f"admin:roadmap_{model}_export")
    formats = ChecklistItemAdmin(ChecklistItem, None).get_export_formats()
    index = next(i for i, f in enumerate(formats) if f is file_format)
    response = client.post(url, {"format": str(index), "resource": "0"})
    assert response.status_code == 200, response.content[:500]
    return response.content


@pytest.mark.parametrize("model", ["checklistitem", "risk"])
@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t"])
def test_export_neutralises_formulas_in_csv_and_xlsx(
    client, programme, project_manager, model, prefix
):
    client.force_login(project_manager)
    payload = prefix + 'HYPERLINK("http://evil.example","click")'
    if model == "checklistitem":
        ChecklistItem.objects.filter(key="p1-erp-api-connection").update(title=payload)
    else:
        Risk.objects.filter(key="data-quality").update(title=payload)

    rows = list(csv.DictReader(io.StringIO(_export(client, model, CSV).decode("utf-8"))))
    titles = [r["title"] for r in rows]
    assert "'" + payload in titles
    assert not any(t.startswith(("=", "+", "-", "@", "\t")) for t in titles)

    book = openpyxl.load_workbook(io.BytesIO(_export(client, model, XLSX)))
    cells = [c.value for row in book.active.iter_rows() for c in row if c.value is not None]
    assert "'" + payload in cells
    assert not any(str(v).startswith(("=", "+", "-", "@", "\t")) for v in cells)
    if model == "risk":  # numbers stay numbers (the library's own escaping made them text)
        assert any(isinstance(v, int) for v in cells)
    assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)


def test_import_updates_existing_rows_and_stamps_done(programme, project_manager):
    from tablib import Dataset

    from roadmap.resources import ChecklistItemResource

    resource = ChecklistItemResource()
    exported = resource.export(queryset=ChecklistItem.objects.filter(phase__number=2))
    data = Dataset(headers=exported.headers)
    for row in exported.dict:
        row["status"] = "done" if row["key"] == "p2-cac-monitoring" else row["status"]
        data.append([row[h] for h in exported.headers])
    result = resource.import_data(data, dry_run=False, user=project_manager)
    assert not result.has_errors() and not result.has_validation_errors()
    assert ChecklistItem.objects.count() == 20
    item = ChecklistItem.objects.get(key="p2-cac-monitoring")
    assert item.status == "done"
    assert item.completed_by == project_manager and item.completed_at is not None
    assert item.history.latest().history_user == project_manager


def form_data(response) -> dict:
    """The POST a browser would send for an admin change form as rendered (with inlines)."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
        )
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value is None:
                continue
            if hasattr(value, "pk"):
                value = value.pk
            elif isinstance(value, (list, tuple)):  # many-to-many: the phase's gate metrics
                value = [getattr(v, "pk", v) for v in value]
            data[form.add_prefix(name)] = value
    return data


def test_ticking_a_deliverable_in_the_phase_inline_stamps_it(client, programme, project_manager):
    client.force_login(project_manager)
    phase = programme.phases.get(number=3)
    url = reverse("admin:roadmap_phase_change", args=[phase.pk])
    data = form_data(client.get(url))
    status_key = next(
        k for k, v in data.items() if k.endswith("-status") and v == "todo" and "-0-" in k
    )
    data[status_key] = "done"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    done = ChecklistItem.objects.get(phase=phase, status="done")
    assert done.completed_by == project_manager and done.completed_at is not None
    assert done.history.latest().history_user == project_manager
    assert ChecklistItem.objects.filter(phase=phase).count() == 4


def test_risk_import_round_trip_rescores(programme, project_manager):
    from tablib import Dataset

    from roadmap.resources import RiskResource

    resource = RiskResource()
    exported = resource.export(queryset=Risk.objects.all())
    data = Dataset(headers=exported.headers)
    for row in exported.dict:
        if row["key"] == "api-reliability":
            row["likelihood"], row["impact"], row["score"] = 5, 5, 1  # score is derived
        data.append([row[h] for h in exported.headers])
    result = resource.import_data(data, dry_run=False, user=project_manager)
    assert not result.has_errors() and not result.has_validation_errors()
    assert Risk.objects.count() == 6
    risk = Risk.objects.get(key="api-reliability")
    assert (risk.likelihood, risk.impact, risk.score) == (5, 5, 25)
    assert risk.history.latest().history_user == project_manager


def test_pm_rescores_a_risk_in_the_admin(client, programme, project_manager):
    client.force_login(project_manager)
    risk = Risk.objects.get(key="change-management")
    url = reverse("admin:roadmap_risk_change", args=[risk.pk])
    data = form_data(client.get(url))
    data.update({"likelihood": "5", "impact": "4", "status": "mitigating"})
    assert client.post(url, data).status_code == 302
    risk.refresh_from_db()
    assert (risk.score, risk.status) == (20, "mitigating")
    record = risk.history.latest()
    assert record.history_user == project_manager
    assert record.prev_record.likelihood == 3
