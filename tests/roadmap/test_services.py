import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from roadmap.models import ChecklistItem, Measurement
from roadmap.services import (
    MeasurementError,
    checklist_item_update,
    checklist_items_status_set,
    measurement_record,
)
from tests.factories import ChecklistItemFactory

pytestmark = pytest.mark.django_db


def test_done_records_who_and_when_and_leaving_done_clears_it(project_manager):
    item = ChecklistItemFactory()
    before = timezone.now()
    checklist_item_update(item=item, user=project_manager, status="done")
    item.refresh_from_db()
    assert item.completed_by == project_manager
    assert item.completed_at >= before
    first_completion = item.completed_at

    checklist_item_update(item=item, user=project_manager, notes="evidence below")
    item.refresh_from_db()
    assert item.completed_at == first_completion  # an edit does not re-stamp

    checklist_item_update(item=item, user=project_manager, status="in_progress")
    item.refresh_from_db()
    assert (item.completed_by, item.completed_at) == (None, None)


def test_update_refuses_an_unknown_status(project_manager):
    item = ChecklistItemFactory()
    with pytest.raises(ValidationError):
        checklist_item_update(item=item, user=project_manager, status="finished")
    item.refresh_from_db()
    assert item.status == "todo"


def test_every_change_is_in_the_history_with_user_and_before_after(project_manager):
    item = ChecklistItemFactory()
    checklist_item_update(item=item, user=project_manager, status="blocked")
    latest = item.history.latest()
    assert latest.history_user == project_manager
    delta = latest.diff_against(latest.prev_record)
    changes = {c.field: (c.old, c.new) for c in delta.changes}
    assert changes["status"] == ("todo", "blocked")


def test_bulk_status_set_saves_each_changed_row(project_manager):
    items = [ChecklistItemFactory() for _ in range(3)]
    items[0].status = "done"
    items[0].save()
    queryset = ChecklistItem.objects.filter(pk__in=[i.pk for i in items])
    changed = checklist_items_status_set(items=queryset, status="done", user=project_manager)
    assert changed == 2
    assert set(queryset.values_list("status", flat=True)) == {"done"}
    assert queryset.filter(completed_by=project_manager).count() == 2
    for item in items[1:]:
        assert item.history.latest().history_user == project_manager


def test_measurement_record_stores_a_decimal(project_manager):
    from tests.factories import SuccessMetricFactory

    SuccessMetricFactory(key="data_sync_accuracy")
    measured = timezone.now() - datetime.timedelta(hours=1)
    m = measurement_record(
        metric_key="data_sync_accuracy",
        value=Decimal("99.95"),
        measured_at=measured,
        recorded_by=project_manager,
        note="nightly check",
    )
    m.refresh_from_db()
    assert (m.value, m.measured_at, m.source, m.recorded_by) == (
        Decimal("99.95"),
        measured,
        "manual",
        project_manager,
    )


def test_automatic_measurements_name_their_source():
    from tests.factories import SuccessMetricFactory

    SuccessMetricFactory(key="sales_finance_consistency")
    m = measurement_record(
        metric_key="sales_finance_consistency",
        value="97.5",
        source="auto:connectors.reconciliation",
    )
    assert m.source == "auto:connectors.reconciliation"
    assert m.recorded_by is None
    assert m.value == Decimal("97.5")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metric_key": "no_such_metric", "value": Decimal("1")}, "metric_key"),
        ({"value": "abc"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": "Infinity"}, "value"),
        ({"value": 99.5}, "value"),  # floats are refused: Decimal only
        ({"value": Decimal("1e20")}, "value"),
        ({"value": Decimal("1"), "source": "robot"}, "source"),
        (
            {"value": Decimal("1"), "measured_at": timezone.now() + datetime.timedelta(days=1)},
            "measured_at",
        ),
        ({"value": Decimal("1"), "measured_at": datetime.datetime(2026, 1, 1)}, "measured_at"),
    ],
)
def test_bad_measurements_raise_a_clear_error_and_write_nothing(kwargs, field):
    from tests.factories import SuccessMetricFactory

    SuccessMetricFactory(key="api_reliability")
    with pytest.raises(MeasurementError) as excinfo:
        measurement_record(**{"metric_key": "api_reliability", **kwargs})
    assert field in excinfo.value.message_dict
    assert isinstance(excinfo.value, ValidationError)
    assert Measurement.objects.count() == 0


def test_unknown_key_message_names_the_key():
    with pytest.raises(MeasurementError, match="no_such_metric"):
        measurement_record(metric_key="no_such_metric", value=Decimal("1"))
