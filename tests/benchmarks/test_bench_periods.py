"""``manage.py bench_periods``: distinct custom periods inside the data, and a tiny run."""

import datetime as dt
import io

from django.core.management import call_command

from benchmarks.management.commands.bench_periods import custom_periods
from metrics.models import MetricSnapshot
from records import models as m


def test_custom_periods_are_distinct_and_inside_the_data():
    first, last = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
    periods = custom_periods(first, last, 50, seed=3)
    assert len(set(periods)) == 50
    for start, end in periods:
        assert first <= start <= end <= last
        assert (end - start).days < 366
    assert custom_periods(first, last, 50, seed=3) == periods  # seeded: reproducible


def test_bench_periods_runs_small_and_cleans_up(db):
    out = io.StringIO()
    call_command(
        "bench_periods",
        "--scale", "0.0005", "--requests", "2", "--pages", "executive,marketing",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line[:1].isalpha()}
    assert rows["executive"][4] == "500"
    assert rows["marketing"][4] == "2000"
    assert "sales" not in rows
    assert not m.GLLine.objects.exists()
    assert not MetricSnapshot.objects.exists()
