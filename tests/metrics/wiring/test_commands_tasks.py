"""compute_metrics / bench_metrics commands, the Celery task and its schedule."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from benchmarks.management.commands import bench_metrics
from metrics import tasks
from metrics.models import MetricSnapshot
from metrics.schedules import SCHEDULES
from records.models import Touchpoint

pytestmark = pytest.mark.django_db


def test_compute_metrics_command_for_one_model_and_period(dataset):
    out = io.StringIO()
    call_command(
        "compute_metrics",
        "--model",
        "linear",
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-31",
        "--no-measurements",
        stdout=out,
    )
    # linear x (channel, campaign) x (attribution, ROI) + CAC + sales + 4 budget groupings
    # + subscriptions, cohorts, CS ROI and initiative ROI.
    assert MetricSnapshot.objects.count() == 2 * 2 + 2 + 4 + 4
    assert set(MetricSnapshot.objects.values_list("period_start", flat=True)) == {
        dt.date(2026, 3, 1)
    }
    assert "sales_finance_consistency: 50" in out.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["--start", "2026-03-01"],
        ["--start", "March", "--end", "2026-03-31"],
        ["--start", "2026-03-31", "--end", "2026-03-01"],
    ],
)
def test_compute_metrics_command_rejects_bad_periods(db, argv):
    with pytest.raises(CommandError):
        call_command("compute_metrics", *argv)


def test_task_is_thin_and_scheduled_nightly(dataset, monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "metrics_compute_all", lambda: calls.append(1) or {"snapshots": 3})
    monkeypatch.setattr(tasks, "snapshots_warm", lambda: calls.append(2) or {"snapshots": 5})
    assert tasks.compute_metrics.run(connector_id=dataset.pk) == {
        "snapshots": "3",
        "dashboard_snapshots": "5",
        "changed_snapshots": "0",  # nothing written since: no other snapshot to redo
    }
    assert calls == [1, 2]
    assert tasks.compute_metrics.acks_late is True
    assert tasks.compute_metrics.expires
    (spec,) = SCHEDULES
    assert spec.task == tasks.compute_metrics.name == "metrics.tasks.compute_metrics"
    assert spec.crontab == {"minute": "30", "hour": "2"}


def test_bench_metrics_runs_small_and_cleans_up(db, monkeypatch):
    monkeypatch.setattr(bench_metrics, "SCRATCH", "/nonexistent/finhub-channelattribution")
    out = io.StringIO()
    call_command("bench_metrics", "--scale", "0.0005", stdout=out)
    text = out.getvalue()
    for model in ("first_touch", "markov", "shapley"):
        assert f"  {model}" in text
    assert "comparison skipped" in text
    # Pinned to the generated history, and the COPY ratio printed (PostgreSQL) or skipped.
    assert "window: 2024-01-01..2025-12-31 (the generated history)" in text
    assert "attribution / COPY ratio" in text or "COPY ratio: PostgreSQL only" in text
    assert not Touchpoint.objects.exists()
