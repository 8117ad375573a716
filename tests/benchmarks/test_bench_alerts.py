"""``manage.py bench_alerts`` runs end to end at a tiny scale and cleans up."""

import io

from django.core.management import CommandError, call_command

from alerts.models import AlertInstance, AlertRule
from metrics.models import MetricSnapshot, SpendAnomaly


def test_bench_alerts_runs_small_and_cleans_up(db):
    enabled_before = set(AlertRule.objects.filter(enabled=True).values_list("pk", flat=True))
    out = io.StringIO()
    try:
        call_command("bench_alerts", "--scale", "0.02", "--ticks", "3", stdout=out)
    except CommandError as exc:
        # A loaded test machine may miss the time target; the command must say so.
        assert str(exc).startswith("FAIL: "), exc
    text = out.getvalue()
    assert "4 rules = 20 instances per tick" in text
    ticks = [line.split() for line in text.splitlines() if line[:4].strip() in {"1", "2", "3"}]
    assert [row[0] for row in ticks] == ["1", "2", "3"]
    assert all(row[2] == "4" and row[3] == "20" for row in ticks), ticks  # rules, instances
    assert int(ticks[0][4]) > 0  # the first tick sets some instances pending or firing
    assert any(line.startswith(("PASS", "FAIL")) for line in text.splitlines())
    assert "reproduce: DATABASE_URL=" in text
    assert not AlertRule.objects.filter(name__startswith="bench-alerts").exists()
    assert not AlertInstance.objects.exists()
    assert not MetricSnapshot.objects.exists()
    assert not SpendAnomaly.objects.exists()
    assert set(AlertRule.objects.filter(enabled=True).values_list("pk", flat=True)) == (
        enabled_before
    )
