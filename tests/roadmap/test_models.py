import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from roadmap.models import ChecklistItem, Risk
from tests.factories import (
    ChecklistItemFactory,
    PhaseFactory,
    ProgrammeFactory,
    RiskFactory,
    SuccessMetricFactory,
)

pytestmark = pytest.mark.django_db


def test_risk_score_is_likelihood_times_impact_in_the_database():
    risk = RiskFactory(likelihood=4, impact=5)
    risk.refresh_from_db()
    assert risk.score == 20
    Risk.objects.filter(pk=risk.pk).update(impact=2)
    assert Risk.objects.get(pk=risk.pk).score == 8
    assert list(Risk.objects.order_by("-score").values_list("score", flat=True)) == [8]


@pytest.mark.parametrize(("likelihood", "impact"), [(0, 3), (6, 3), (3, 0), (3, 6)])
def test_risk_scores_outside_1_to_5_are_refused(likelihood, impact):
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskFactory(likelihood=likelihood, impact=impact)


def test_a_deliverable_needs_a_phase_and_pre_implementation_has_none():
    programme = ProgrammeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.create(programme=programme, kind="deliverable", key="x", title="x")
    phase = PhaseFactory(programme=programme)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.create(
            programme=programme, kind="pre_implementation", phase=phase, key="y", title="y"
        )


def test_completion_time_exists_only_for_done_items():
    item = ChecklistItemFactory(status="done")
    assert item.completed_at is not None
    item.status = "blocked"
    item.save()
    item.refresh_from_db()
    assert item.completed_at is None and item.completed_by is None
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(pk=item.pk).update(completed_at=timezone.now())


def test_save_with_update_fields_keeps_the_completion_stamp_consistent():
    item = ChecklistItemFactory(status="done")
    item.status = "todo"
    item.save(update_fields=["status"])
    item.refresh_from_db()
    assert item.completed_at is None


@pytest.mark.parametrize(
    ("status", "days", "overdue"),
    [
        ("todo", -1, True),
        ("blocked", -1, True),
        ("in_progress", -10, True),
        ("done", -1, False),
        ("not_applicable", -1, False),
        ("todo", 0, False),
        ("todo", 3, False),
    ],
)
def test_overdue_means_past_due_and_not_closed(status, days, overdue):
    item = ChecklistItemFactory(
        status=status, due_date=timezone.localdate() + datetime.timedelta(days=days)
    )
    assert item.is_overdue is overdue


def test_metric_direction_decides_what_meets_the_target():
    at_least = SuccessMetricFactory(target_value=Decimal("99.9"), direction="at_least")
    assert at_least.is_met(Decimal("99.9"))
    assert not at_least.is_met(Decimal("99.89"))
    at_most = SuccessMetricFactory(target_value=Decimal("2"), direction="at_most", unit="seconds")
    assert at_most.is_met(Decimal("1.95"))
    assert not at_most.is_met(Decimal("2.01"))
