"""``manage.py bench_dashboards`` runs end to end at a tiny scale and cleans up."""

import io

from django.core.management import call_command

from metrics.models import MetricSnapshot
from records import models as m


def test_bench_dashboards_runs_small_and_cleans_up(db):
    out = io.StringIO()
    call_command("bench_dashboards", "--scale", "0.0005", "--requests", "2", stdout=out)
    text = out.getvalue()
    assert "snapshots warmed:" in text
    for page in ("executive (YTD)", "cac (YTD)", "gl-lines drill (last month revenue)"):
        line = next(line for line in text.splitlines() if line.startswith(page))
        queries = int(line.split()[-2 if "over target" not in line else -5])
        assert 0 < queries <= 15, line
    assert not m.GLLine.objects.exists()
    assert not MetricSnapshot.objects.exists()
