"""The values rules watch (alerts.sources.metric_values), read from stored data."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from alerts.sources import SourceError, metric_values
from metrics.models import MetricSnapshot, SpendAnomaly
from metrics.params import (
    attribution_params,
    budget_params,
    default_attribution_model,
    forecast_params,
    params_dates,
    params_hash,
    period_params,
)
from tests.alerts.factories import AlertInstanceFactory, AlertRuleFactory
from tests.factories import (
    MeasurementFactory,
    PullConnectorFactory,
    SuccessMetricFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
NOW = dt.datetime(2026, 5, 15, 12, 0, tzinfo=dt.UTC)  # last closed month: April 2026


def snapshot(kind: str, params: dict, result: dict) -> MetricSnapshot:
    start, end = params_dates(params)
    return MetricSnapshot.objects.create(
        kind=kind,
        params=params,
        params_hash=params_hash(params),
        period_start=start,
        period_end=end,
        model=params.get("model", ""),
        group_by=params.get("group_by", ""),
        result=result,
    )


def budget_row(key, label, account_type, actual, budget):
    return {
        "key": key,
        "label": label,
        "account_type": account_type,
        "actual": actual,
        "budget": budget,
        "exact": {"actual": actual, "budget": budget},
    }


def ytd_budget(group_by: str, rows: list, end=dt.date(2026, 5, 15)) -> MetricSnapshot:
    params = budget_params(start=dt.date(2026, 1, 1), end=end, group_by=group_by)
    return snapshot("budget_variance", params, {"rows": rows})


def rule(**kwargs):
    return AlertRuleFactory(**kwargs)


def values(alert_rule):
    return metric_values(alert_rule, now=NOW)


# --- budget variance ----------------------------------------------------------------------


def test_budget_variance_per_department_counts_costs_only():
    ytd_budget(
        "department",
        [
            # Marketing: costs 110 + 50 = 160 vs 100 + 50 = 150 -> +6.6667%; revenue ignored.
            budget_row("MKT", "Marketing", "expense", "110.00", "100.00"),
            budget_row("MKT", "Marketing", "cost_of_sales", "50.00", "50.00"),
            budget_row("MKT", "Marketing", "revenue", "999.00", "1.00"),
            budget_row("OPS", "Operations", "expense", "90.00", "100.00"),  # -10%
            budget_row("RND", "R&D", "expense", "40.00", "0.00"),  # no budget: undefined
        ],
    )
    assert values(rule(metric="budget_variance_pct", scope="department")) == {
        "MKT": ("Marketing", D("6.6667")),
        "OPS": ("Operations", D("-10.0000")),
        "RND": ("R&D", None),
    }


def test_budget_variance_company_and_latest_stored_day():
    ytd_budget(
        "department",
        [budget_row("MKT", "Marketing", "expense", "1.00", "1.00")],
        end=dt.date(2026, 5, 10),
    )
    ytd_budget(
        "department",
        [
            budget_row("MKT", "Marketing", "expense", "130.00", "100.00"),
            budget_row("OPS", "Operations", "expense", "90.00", "100.00"),
        ],
        end=dt.date(2026, 5, 14),
    )
    # The latest stored year to date (14 May): (220 - 200) / 200 = +10%.
    assert values(rule(metric="budget_variance_pct", scope="all")) == {
        "": ("Company", D("10.0000"))
    }


def test_scope_filter_narrows_by_code_or_name():
    ytd_budget(
        "department",
        [
            budget_row("MKT", "Marketing", "expense", "110.00", "100.00"),
            budget_row("OPS", "Operations", "expense", "90.00", "100.00"),
        ],
    )
    by_code = rule(metric="budget_variance_pct", scope="department", scope_filter="ops")
    by_name = rule(metric="budget_variance_pct", scope="department", scope_filter="Marketing")
    assert values(by_code) == {"OPS": ("Operations", D("-10.0000"))}
    assert values(by_name) == {"MKT": ("Marketing", D("10.0000"))}


def test_no_snapshot_is_no_data():
    assert values(rule(metric="budget_variance_pct", scope="department")) == {}
    assert values(rule(metric="budget_variance_pct", scope="all")) == {"": ("Company", None)}


def test_a_broken_snapshot_raises_source_error():
    ytd_budget("department", "not a list of rows")
    with pytest.raises(SourceError):
        values(rule(metric="budget_variance_pct", scope="department"))


# --- forecast -----------------------------------------------------------------------------


def forecast_group(level, kind, predicted, budget, dept="MKT", dept_label="Marketing", account=""):
    return {
        "level": level,
        "department": dept,
        "department_label": dept_label,
        "account": account,
        "account_label": "Ads" if account else "",
        "account_type": kind,
        "predicted_outturn": predicted,
        "full_year_budget": budget,
    }


def test_predicted_overrun_per_department_and_outturn():
    snapshot(
        "forecast",
        forecast_params(fiscal_year=2026),
        {
            "groups": [
                forecast_group("department", "expense", "1100.00", "1000.00"),
                forecast_group("department", "cost_of_sales", "500.00", "500.00"),
                forecast_group("department", "revenue", "1.00", "9999.00"),
                forecast_group("department", "expense", "950.00", "1000.00", "OPS", "Operations"),
                forecast_group("series", "expense", "1100.00", "1000.00", account="6100"),
            ]
        },
    )
    # Marketing costs 1600 vs 1500: +6.6667%; Operations 950 vs 1000: -5%.
    assert values(rule(metric="predicted_overrun_pct", scope="department")) == {
        "MKT": ("Marketing", D("6.6667")),
        "OPS": ("Operations", D("-5.0000")),
    }
    assert values(rule(metric="predicted_outturn", scope="department"))["MKT"] == (
        "Marketing",
        D("1600.0000"),
    )
    assert values(rule(metric="predicted_overrun_pct", scope="account")) == {
        "6100": ("6100 Ads", D("10.0000"))
    }


# --- campaign ROI -------------------------------------------------------------------------


def roi_snapshot(month_start: dt.date, month_end: dt.date, rows: dict):
    params = attribution_params(
        model=default_attribution_model(), group_by="campaign", start=month_start, end=month_end
    )
    result = {"rows": [{"key": key, "roi": roi} for key, roi in rows.items()]}
    return snapshot("campaign_roi", params, result)


def test_campaign_roi_is_the_larger_of_the_last_two_closed_months():
    roi_snapshot(
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 31),
        {"Spring": "-0.25", "Brand": "-0.5", "Search": "0.1", "New": "undefined"},
    )
    roi_snapshot(
        dt.date(2026, 4, 1),
        dt.date(2026, 4, 30),
        {"Spring": "-0.1", "Brand": "0.2", "Search": "-0.3", "New": "-1", "(no campaign)": "0"},
    )
    assert values(rule(metric="campaign_roi", scope="campaign")) == {
        "Spring": ("Spring", D("-10.0000")),  # below 0 in both months
        "Brand": ("Brand", D("20.0000")),
        "Search": ("Search", D("10.0000")),
        "New": ("New", None),  # no ROI in March: cannot say "two months"
    }


def test_campaign_roi_without_the_earlier_month_is_no_data():
    roi_snapshot(dt.date(2026, 4, 1), dt.date(2026, 4, 30), {"Spring": "-0.1"})
    assert values(rule(metric="campaign_roi", scope="campaign")) == {"Spring": ("Spring", None)}


# --- CAC and retention -------------------------------------------------------------------


def test_cac_of_the_last_closed_month():
    params = period_params(start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30))
    row = {
        "month": "2026-04-01",
        "blended_cac": "1234.5",
        "paid_cac": "undefined",
        "ltv_to_cac": "3.25",
        "payback_months": "7",
        "channel_cac": {"Search": "800", "(no channel)": "1"},
        "channel_payback_months": {},
    }
    snapshot("cac", params, {"months": [row]})
    assert values(rule(metric="blended_cac", scope="all")) == {"": ("Company", D("1234.5000"))}
    assert values(rule(metric="paid_cac", scope="all")) == {"": ("Company", None)}
    assert values(rule(metric="paid_cac", scope="channel")) == {"Search": ("Search", D("800.0000"))}
    assert values(rule(metric="ltv_cac", scope="all")) == {"": ("Company", D("3.2500"))}


# --- anomalies ----------------------------------------------------------------------------


def anomaly(key, score, status="open", kind="campaign_spend", day=dt.date(2026, 5, 1)):
    return SpendAnomaly.objects.create(
        kind=kind,
        scope_key=key,
        label=f"Label {key}",
        period_start=day,
        period_end=day,
        actual=D("10"),
        expected=D("5"),
        low=D("4"),
        high=D("6"),
        deviation=D("5"),
        currency="USD",
        score=D(score),
        status=status,
    )


def test_spend_anomaly_largest_open_score_and_zero_when_gone():
    anomaly("C1", "4.5")
    anomaly("C1", "-6.25", day=dt.date(2026, 5, 2))
    anomaly("C2", "9", status="dismissed")
    alert_rule = rule(metric="spend_anomaly", scope="anomaly_scope")
    AlertInstanceFactory(rule=alert_rule, scope_key="campaign_spend:C9", scope_label="Gone")
    assert values(alert_rule) == {
        "campaign_spend:C1": ("Label C1", D("6.2500")),
        "campaign_spend:C9": ("Gone", D("0.0000")),
    }
    assert values(rule(metric="spend_anomaly", scope="all")) == {"": ("Company", D("6.2500"))}


# --- connectors ---------------------------------------------------------------------------


def test_connector_failures_staleness_and_reconciliation():
    erp = PullConnectorFactory(
        name="ERP", slug="erp", consecutive_failures=3, last_success_at=NOW - dt.timedelta(hours=30)
    )
    PullConnectorFactory(name="CRM", slug="crm", last_success_at=NOW - dt.timedelta(minutes=90))
    PullConnectorFactory(name="Off", slug="off", enabled=False, consecutive_failures=9)
    SyncRunFactory(
        connector=erp, reconciliation_matched_pct=D("98.50"), created_at=NOW - dt.timedelta(days=2)
    )
    SyncRunFactory(
        connector=erp, reconciliation_matched_pct=D("99.95"), created_at=NOW - dt.timedelta(days=1)
    )
    assert values(rule(metric="sync_failures", scope="connector")) == {
        "crm": ("CRM", D("0.0000")),
        "erp": ("ERP", D("3.0000")),
    }
    assert values(rule(metric="source_stale_hours", scope="connector")) == {
        "crm": ("CRM", D("1.5000")),
        "erp": ("ERP", D("30.0000")),
    }
    assert values(rule(metric="reconciliation_accuracy", scope="connector")) == {
        "crm": ("CRM", None),
        "erp": ("ERP", D("99.9500")),
    }
    assert values(rule(metric="sync_failures", scope="all")) == {"": ("Company", D("3.0000"))}


# --- scorecard ----------------------------------------------------------------------------


def test_scorecard_shortfall_against_target():
    cac = SuccessMetricFactory(
        key="blended_cac", name="Blended CAC", target_value=D("20000"), direction="at_most"
    )
    MeasurementFactory(metric=cac, value=D("21000"))
    uptime = SuccessMetricFactory(
        key="api_reliability", name="API reliability", target_value=D("99.5")
    )
    MeasurementFactory(metric=uptime, value=D("99.9"))
    SuccessMetricFactory(key="never_measured", name="Never")
    assert values(rule(metric="scorecard_vs_target", scope="scorecard_metric")) == {
        "blended_cac": ("Blended CAC", D("1000.0000")),  # 1,000 above the at-most target
        "api_reliability": ("API reliability", D("-0.4000")),  # 0.4 better than target
        "never_measured": ("Never", None),
    }
    narrowed = rule(
        metric="scorecard_vs_target", scope="scorecard_metric", scope_filter="blended_cac"
    )
    assert list(values(narrowed)) == ["blended_cac"]


def test_response_time_in_milliseconds():
    metric = SuccessMetricFactory(key="financial_query_response_time", unit="seconds")
    MeasurementFactory(metric=metric, value=D("1.25"))
    assert values(rule(metric="response_time_p95", scope="all")) == {
        "": ("Company", D("1250.0000"))
    }


# --- validation and cost ------------------------------------------------------------------


def test_unsupported_scope_is_a_validation_error_on_clean():
    alert_rule = rule(metric="blended_cac", scope="department")
    with pytest.raises(ValidationError) as raised:
        alert_rule.full_clean()
    assert "scope" in raised.value.message_dict
    with pytest.raises(SourceError, match="can be watched for"):
        values(alert_rule)


def test_recovery_threshold_on_the_wrong_side_is_a_validation_error():
    alert_rule = rule(comparator="gt", threshold=D("5"), recovery_threshold=D("6"))
    with pytest.raises(ValidationError) as raised:
        alert_rule.full_clean()
    assert list(raised.value.message_dict) == ["recovery_threshold"]
    alert_rule.recovery_threshold = D("4")
    alert_rule.full_clean()


@pytest.mark.parametrize(
    ("metric", "scope", "queries"),
    [
        ("budget_variance_pct", "department", 1),
        ("predicted_overrun_pct", "department", 1),
        ("campaign_roi", "campaign", 1),
        ("nrr", "segment", 1),
        ("spend_anomaly", "anomaly_scope", 2),
        ("reconciliation_accuracy", "connector", 1),
        ("scorecard_vs_target", "scorecard_metric", 2),
    ],
)
def test_reading_is_a_bounded_number_of_queries(
    django_assert_max_num_queries, metric, scope, queries
):
    ytd_budget(
        "department", [budget_row(f"D{i}", f"Dept {i}", "expense", "1", "1") for i in range(30)]
    )
    for i in range(30):
        anomaly(f"C{i}", "5")
        PullConnectorFactory(name=f"Source {i}", slug=f"s{i}")
    alert_rule = rule(metric=metric, scope=scope)
    with django_assert_max_num_queries(queries):
        values(alert_rule)
