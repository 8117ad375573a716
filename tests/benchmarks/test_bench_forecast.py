"""``manage.py bench_forecast`` runs end to end at a tiny scale and cleans up."""

import io
from decimal import Decimal

from django.core.management import CommandError, call_command

from benchmarks.management.commands import bench_forecast
from metrics.models import MetricSnapshot
from records import models as m


def test_bench_forecast_runs_small_and_cleans_up(db):
    out = io.StringIO()
    try:
        call_command(
            "bench_forecast",
            *("--scale", "0.04", "--requests", "2", "--processes", "1"),
            stdout=out,
        )
    except CommandError as exc:
        # A loaded test machine may miss a time target; the command must say which.
        assert str(exc).startswith("FAIL: "), exc
    text = out.getvalue()
    assert (
        "generated and loaded (seed 7, scale 0.04: 20 series = 1 departments x 20 accounts" in text
    )
    assert "forecast FY" in text and ": 20 series," in text
    assert "forecast compute (read + fit + backtest + store)" in text
    for label in (
        "forecast page (company)",
        "forecast page (one department)",
        "api forecast (all groups)",
        "api forecast (one department)",
        "api forecast accuracy",
    ):
        verdict = next(
            line for line in text.splitlines() if line.endswith("queries)") and label in line
        )
        assert verdict.startswith(("PASS", "FAIL")), verdict
        queries = int(verdict.split(" queries ")[0].rsplit(" ", 1)[1])
        assert 0 < queries <= 15, verdict
    assert "reproduce: DATABASE_URL=" in text
    assert not m.GLLine.objects.exists()
    assert not m.BudgetLine.objects.exists()
    assert not m.FxRate.objects.filter(source__name="bench-forecast").exists()
    assert not MetricSnapshot.objects.exists()


def _generated(command) -> tuple[list, list]:
    source = command._generate_forecast(0.04, 11)
    lines = list(
        m.GLLine.objects.filter(source=source)
        .order_by("external_id")
        .values_list("external_id", "posting_date", "amount", "currency_id", "created_at")
    )
    budget = list(
        m.BudgetLine.objects.filter(source=source)
        .order_by("external_id")
        .values_list("external_id", "amount")
    )
    command._delete(source)
    return lines, budget


def test_generator_is_seeded_exact_and_has_the_special_series(db):
    command = bench_forecast.Command(stdout=io.StringIO())
    lines, budget = _generated(command)
    assert (lines, budget) == _generated(command)  # same seed, same rows

    assert len(budget) == 20 * 12  # every series budgeted in every month of the year
    assert all(amount == amount.quantize(Decimal("0.01")) for _id, _day, amount, *_ in lines)
    series = {ext.rsplit("-", 2)[0] for ext, *_ in lines}
    assert len(series) == 19  # one series is budgeted but has no lines yet
    late = [
        (day, created)
        for _ext, day, _amount, _currency, created in lines
        if (created.year, created.month) > (day.year, day.month)
    ]
    assert late  # lines stored after their posting month: the backtest must not see them early
    foreign = {day for _ext, day, _amount, currency, _created in lines if currency == "EUR"}
    assert foreign
    assert not m.GLLine.objects.exists()
