"""``manage.py bench_reports`` runs end to end at a tiny scale, prints every report and the
total, fails above the limit and cleans up."""

import io

import pytest
from django.core.management import CommandError, call_command

from metrics.models import MetricSnapshot
from records import models as m
from reports.definitions import REPORTS


def test_bench_reports_runs_small_and_cleans_up(db):
    out = io.StringIO()
    call_command("bench_reports", "--scale", "0.0005", stdout=out)
    text = out.getvalue()
    for key in REPORTS:
        assert any(line.startswith(key) for line in text.splitlines()), key
    assert "pack PDF:" in text and "total (10 builds" in text
    assert not m.GLLine.objects.exists()
    assert not MetricSnapshot.objects.exists()


def test_bench_reports_fails_over_the_limit(db):
    with pytest.raises(CommandError, match=r"over the 0\.001 s limit"):
        call_command(
            "bench_reports",
            "--scale",
            "0.0005",
            "--no-warm",
            "--limit",
            "0.001",
            stdout=io.StringIO(),
        )
    assert not m.GLLine.objects.exists()
