"""``manage.py forecast``: the nightly refresh on demand, or another year / budget version."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests import factories as f

pytestmark = pytest.mark.django_db


def run(*argv) -> str:
    out = StringIO()
    call_command("forecast", *argv, stdout=out)
    return out.getvalue()


@pytest.fixture
def computed(monkeypatch):
    calls = []

    class Stored:
        result = {"series_count": 2, "origin": "2025-10-01", "accuracy": {"model_mix": {}}}

    def compute(*, fiscal_year, budget=None):
        calls.append((fiscal_year, budget))
        return Stored()

    monkeypatch.setattr("metrics.management.commands.forecast.forecast_compute", compute)
    return calls


def test_without_options_it_refreshes_like_the_nightly_task(monkeypatch):
    seen = {}

    def refresh(*, force):
        seen["force"] = force
        return {"fiscal_year": 2026, "computed": False}

    monkeypatch.setattr("metrics.management.commands.forecast.forecasts_refresh", refresh)
    assert "stored forecast is current" in run()
    assert seen == {"force": False}
    run("--force")
    assert seen == {"force": True}


def test_another_year_and_a_budget_version(computed):
    assert "FY2025: 2 series" in run("--fiscal-year", "2025")
    version = f.BudgetFactory(fiscal_year=2024)
    run("--budget", str(version.pk))
    assert computed == [(2025, None), (2024, version.pk)]


def test_bad_options_name_the_problem(computed):
    version = f.BudgetFactory(fiscal_year=2024)
    with pytest.raises(CommandError, match="no budget version with that id"):
        run("--budget", "999999")
    with pytest.raises(CommandError, match="a FY2024 version, not FY2025"):
        run("--fiscal-year", "2025", "--budget", str(version.pk))
    with pytest.raises(CommandError, match="not a year"):
        run("--fiscal-year", "12")
    assert computed == []
