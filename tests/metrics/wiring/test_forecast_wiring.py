"""Forecast wiring: when the stored forecast is recomputed, the scorecard figure it pushes, the
task chained after the metrics recompute, and the read-only API.

The report itself is tested in tests/metrics/test_forecast_report.py; here its computer is
replaced by one that counts its calls and returns a fixed, well-formed result, so the
rules around it are tested on their own."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from metrics import forecasts, snapshots
from metrics.snapshots import Kind
from roadmap.models import Measurement
from roadmap.services import programme_load
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)  # last closed month: October 2026


def group(level, key, department="", outturn="100.00"):
    month = {
        "month": "2026-12-01",
        "closed": False,
        "actual": None,
        "budget": "10.00",
        "forecast": "9.00",
        "lower80": "8.00",
        "upper80": "10.00",
        "lower95": "7.00",
        "upper95": "11.00",
    }
    return {
        "level": level,
        "key": key,
        "label": key,
        "department": department,
        "department_label": department,
        "account": "",
        "account_label": "",
        "account_type": "expense",
        "model": "",
        "model_label": "",
        "fallback": "",
        "months": [month],
        "full_year_budget": "120.00",
        "predicted_outturn": outturn,
        "outturn_lower80": "90.00",
        "outturn_upper80": "110.00",
        "outturn_lower95": "80.00",
        "outturn_upper95": "120.00",
        "predicted_variance": "-20.00",
        "predicted_variance_pct": "-16.67",
        "favourable": True,
        "probability_over_budget": "0.05",
    }


def result(origin="2026-10-01", accuracy="93.456"):
    return {
        "fiscal_year": 2026,
        "origin": origin,
        "reporting_currency": "USD",
        "budget_versions": [],
        "months": ["2026-12-01"],
        "groups": [
            group("series", "DEP-A|6000", "DEP-A"),
            group("series", "DEP-B|6000", "DEP-B"),
            group("department", "DEP-A|expense", "DEP-A"),
        ],
        "accuracy": {
            "window": ["2025-11-01", "2026-10-01"],
            "horizons": [1, 3, 6],
            "overall": [
                {
                    "horizon": 1,
                    "accuracy_percent": accuracy,
                    "direction_accuracy_percent": "75.00",
                    "points": 24,
                }
            ],
            "by_model": [],
            "by_group": [],
            "outturn_error": [{"origin": "2025-01-01", "error_percent": "4.00"}],
            "model_mix": {"ets": 1, "seasonal_naive": 1, "drift": 0},
            "scorecard_accuracy_percent": accuracy,
        },
        "series_count": 2,
    }


@pytest.fixture
def computer(monkeypatch):
    """The forecast computer, replaced: records each call and returns ``computer.result``."""
    calls = []

    def compute(params):
        calls.append(params)
        return compute.result

    compute.result = result()
    compute.calls = calls
    monkeypatch.setitem(snapshots.COMPUTERS, Kind.FORECAST, compute)
    return compute


@pytest.fixture
def ledger(db):
    source = f.ConnectorFactory(name="erp")
    return f.GLLineFactory(source=source, posting_date=dt.date(2026, 3, 5))


def test_nothing_stored_until_the_first_run(computer):
    assert forecasts.forecast_snapshot(fiscal_year=2026) is None
    assert computer.calls == []


def test_refresh_computes_once_then_only_when_inputs_change_or_a_month_closes(computer, ledger):
    first = forecasts.forecasts_refresh(today=TODAY)
    assert first["computed"] is True and first["why"] == "none stored"
    assert computer.calls == [{"start": "2026-01-01", "end": "2026-12-31", "budget": None}]

    # Nothing changed: the stored forecast stands.
    assert forecasts.forecasts_refresh(today=TODAY)["computed"] is False
    assert len(computer.calls) == 1

    # A ledger line changes after the inputs the forecast read.
    ledger.amount = Decimal("250.00")
    ledger.updated_at = ledger.updated_at + dt.timedelta(seconds=5)
    ledger.save()
    assert forecasts.forecasts_refresh(today=TODAY)["why"] == "inputs changed"
    assert len(computer.calls) == 2

    # November closes: the origin moves, so the forecast is made again.
    again = forecasts.forecasts_refresh(today=dt.date(2026, 12, 1))
    assert again["why"] == "origin 2026-10-01 is not the last closed month"
    assert forecasts.forecasts_refresh(today=TODAY, force=True)["why"] == "forced"


def test_the_scorecard_gets_the_h1_accuracy_with_window_and_model_mix(computer, ledger):
    programme_load()
    forecasts.forecasts_refresh(today=TODAY)
    measured = Measurement.objects.filter(metric__key=forecasts.SCORECARD_METRIC).latest("pk")
    assert measured.value == Decimal("93.46")  # rounded to cents by the scorecard
    assert measured.source == "auto:metrics.forecast"
    assert measured.note == "h=1 backtest 2025-11..2026-10; models: ets 1, seasonal_naive 1"


def test_an_undefined_accuracy_is_not_pushed(computer, ledger):
    programme_load()
    computer.result = result(accuracy="undefined")
    assert forecasts.forecasts_refresh(today=TODAY)["accuracy_pushed"] is False
    assert not Measurement.objects.filter(metric__key=forecasts.SCORECARD_METRIC).exists()


def test_the_metrics_recompute_chains_the_forecast_and_anomaly_tasks(monkeypatch):
    from metrics import tasks

    monkeypatch.setattr(tasks, "metrics_compute_all", lambda: {})
    monkeypatch.setattr(tasks, "snapshots_warm", lambda: {"snapshots": 0})
    with (
        mock.patch.object(tasks.compute_forecasts, "delay") as forecast,
        mock.patch.object(tasks.detect_spend_anomalies, "delay") as detect,
    ):
        tasks.compute_metrics()
    forecast.assert_called_once_with()
    detect.assert_called_once_with()


def test_the_forecast_task_refreshes(computer, ledger, monkeypatch):
    from metrics import tasks

    summary = tasks.compute_forecasts(force=True)
    assert summary["computed"] == "True" and summary["why"] == "forced"
    assert len(computer.calls) == 1


# --- API -------------------------------------------------------------------------------------


@pytest.fixture
def api(finance_viewer):
    client = APIClient()
    client.force_authenticate(finance_viewer)
    return client


@pytest.mark.parametrize("name", ["metrics-forecast", "metrics-forecast-accuracy"])
def test_api_needs_view_dashboards(no_role_user, name):
    client = APIClient()
    client.force_authenticate(no_role_user)
    assert client.get(reverse(name)).status_code == 403
    assert APIClient().get(reverse(name)).status_code in (401, 403)


@pytest.mark.parametrize("name", ["metrics-forecast", "metrics-forecast-accuracy"])
def test_api_says_when_no_forecast_is_stored_and_never_computes(api, computer, name):
    response = api.get(reverse(name), {"fiscal_year": 2026})
    assert response.status_code == 404
    assert "No forecast of FY2026 is stored yet" in response.json()["detail"]
    assert computer.calls == []


def test_api_reads_the_stored_forecast_and_filters_groups(api, computer, ledger):
    forecasts.forecast_compute(fiscal_year=2026)
    url = reverse("metrics-forecast")
    body = api.get(url, {"fiscal_year": 2026}).json()
    assert body["kind"] == "forecast"
    assert len(body["result"]["groups"]) == 3
    assert body["result"]["groups"][0]["months"][0]["lower80"] == "8.00"

    series = api.get(url, {"fiscal_year": 2026, "level": "series"}).json()["result"]["groups"]
    assert [g["key"] for g in series] == ["DEP-A|6000", "DEP-B|6000"]
    dept = api.get(url, {"fiscal_year": 2026, "department": "DEP-A"}).json()["result"]["groups"]
    assert [g["key"] for g in dept] == ["DEP-A|6000", "DEP-A|expense"]
    # Filtering answers a copy: the stored row keeps every group.
    assert len(forecasts.forecast_snapshot(fiscal_year=2026).result["groups"]) == 3

    accuracy = api.get(reverse("metrics-forecast-accuracy"), {"fiscal_year": 2026}).json()
    assert accuracy["result"]["scorecard_accuracy_percent"] == "93.456"
    assert accuracy["result"]["overall"][0]["points"] == 24


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "planet"}, "level"),
        ({"fiscal_year": "20x6"}, "fiscal_year"),
        ({"budget": 0}, "budget"),
    ],
)
def test_api_names_the_bad_parameter(api, params, field):
    response = api.get(reverse("metrics-forecast"), params)
    assert response.status_code == 400
    assert field in response.json()
