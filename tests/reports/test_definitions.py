"""The report definitions: the ten reports, their parameters, the choices."""

from reports.definitions import PARAMETERS, REPORTS, report_choices

KEYS = [
    "pnl_department",
    "budget_vs_actual",
    "forecast_outturn",
    "campaign_roi",
    "cac_ltv",
    "retention_cs_roi",
    "product_roi",
    "sales_performance",
    "roadmap_status",
    "post_close_adjustments",
]


def test_the_ten_reports_in_order():
    assert list(REPORTS) == KEYS
    assert [key for key, _title in report_choices()] == KEYS
    assert dict(report_choices())["pnl_department"] == "P&L by department"


def test_parameters_are_known_and_match_the_subjects():
    for definition in REPORTS.values():
        assert set(definition.parameters) <= set(PARAMETERS), definition.key
        assert definition.title and definition.description
    assert REPORTS["budget_vs_actual"].parameters == ("department", "budget")
    assert REPORTS["campaign_roi"].parameters == ("channel", "campaign", "model")
    assert REPORTS["retention_cs_roi"].parameters == ("segment", "channel")
    assert REPORTS["sales_performance"].parameters == ("team",)
    assert REPORTS["post_close_adjustments"].parameters == ()
