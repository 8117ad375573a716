"""The CS ROI report on the database, hand-worked (retention_data.py), baseline = the 2 months
before the period (FINHUB_BASELINE_MONTHS=2), value horizon 12, gross margin 0.80.

Total, March: baseline Jan + Feb: churned 0 + 200 / start 0 + 300 = 2/3. Start MRR 230,
churned 80: churn avoided = 2/3 x 230 - 80 = 73.33; expansion 0, contraction 30:
retention value = (0 - 30 + 73.333…) x 0.8 x 12 = 416.00; CS cost 200: ROI = 1.08.
SMB (A, C): baseline churn 0 / 100 = 0; churn avoided = 0 - 80 = -80 (worse than baseline);
value = (-30 - 80) x 9.6 = -1056.00; all 200 of CS cost (SMB holds all March start MRR):
ROI = (-1056 - 200) / 200 = -6.28.
Enterprise (B, D): start MRR 0 in March, so no CS cost: ROI undefined.
Coverage: March-end MRR A120 (SMB) + B250 + D110 = 480; SMB's 120 covered = 25 %.
"""

import pytest

from metrics.reports.cs_roi import cs_roi_report
from metrics.reports.roi_settings import value_horizon_months
from tests import factories as f
from tests.metrics.wiring.retention_data import day, subscriptions_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(retention_settings):  # CS departments by code: ["CS"]
    return subscriptions_dataset()


def test_total_with_its_inputs(data):
    report = cs_roi_report(start=day(3, 1), end=day(3, 31))
    total = report["total"]
    assert total["baseline_rate"] == "0.6666666667"
    assert total["months"] == [
        {
            "month": "2026-03-01",
            "start_mrr": "230.00",
            "churned_mrr": "80.00",
            "expansion": "0.00",
            "contraction": "30.00",
            "churn_avoided": "73.33",
        }
    ]
    assert (total["retention_value"], total["cs_cost"], total["roi"]) == (
        "416.00",
        "200.00",
        "1.0800000000",
    )
    assert total["reason"] == ""
    assert report["settings"] == {
        "cs_departments": ["CS"],
        "gross_margin": "0.80",
        "value_horizon_months": 12,
        "baseline_months": 2,
        "baseline_first": "2026-01-01",
        "baseline_last": "2026-02-01",
    }


def test_per_segment_negative_churn_avoided_and_no_cs_cost(data):
    report = cs_roi_report(start=day(3, 1), end=day(3, 31))
    segments = {row["segment"]: row for row in report["segments"]}
    assert list(segments) == ["Enterprise", "SMB"]
    smb, enterprise = segments["SMB"], segments["Enterprise"]
    assert smb["baseline_rate"] == "0.0000000000"
    assert smb["churn_avoided"] == "-80.00"
    assert (smb["retention_value"], smb["cs_cost"], smb["roi"]) == (
        "-1056.00",
        "200.00",
        "-6.2800000000",
    )
    assert enterprise["cs_cost"] == "0.00"
    assert enterprise["roi"] == "undefined"
    assert enterprise["reason"] == "no customer-success cost in the period"
    assert report["coverage"] == {
        "retention_roi_measurement_coverage": "25.0000000000",
        "covered_mrr": "120.00",
        "end_mrr": "480.00",
        "segments_with_roi": ["SMB"],
    }


def test_baseline_months_missing_from_the_history(data):
    report = cs_roi_report(start=day(2, 1), end=day(2, 28))  # baseline Dec 2025 - Jan 2026
    assert report["total"]["baseline_rate"] == "undefined"
    assert report["total"]["roi"] == "undefined"
    assert report["total"]["months"][0]["churn_avoided"] == "undefined"
    assert report["total"]["reason"] == "baseline months not all in the history"
    assert report["coverage"]["retention_roi_measurement_coverage"] == "0.0000000000"


def test_no_start_mrr_gives_undefined_coverage(settings):
    settings.FINHUB_BASELINE_MONTHS = 2
    report = cs_roi_report(start=day(3, 1), end=day(3, 31))
    assert report["total"]["roi"] == "undefined"
    assert report["coverage"]["retention_roi_measurement_coverage"] == "undefined"


def test_cost_is_allocated_by_start_mrr_in_cents(data):
    """A second CS line of 0.01 in March: 200.01 all to SMB still (the only start MRR)."""
    f.GLLineFactory(
        source=data["source"],
        account=data["opex"],
        department=data["cs"],
        posting_date=day(3, 2),
        amount="0.01",
    )
    report = cs_roi_report(start=day(3, 1), end=day(3, 31))
    assert report["cs_cost"] == "200.01"
    assert {row["segment"]: row["cs_cost"] for row in report["segments"]} == {
        "Enterprise": "0.00",
        "SMB": "200.01",
    }


def test_a_bad_setting_fails_loudly(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FINHUB_VALUE_HORIZON_MONTHS = 0
    with pytest.raises(ImproperlyConfigured, match="FINHUB_VALUE_HORIZON_MONTHS"):
        value_horizon_months()


def test_reads_are_bounded(data, django_assert_max_num_queries):
    # 6 reads, the channel names (read once, not joined to every customer) and whether the
    # ledger pre-aggregates of the months are valid (not built here: the GL lines are read).
    with django_assert_max_num_queries(8):
        cs_roi_report(start=day(3, 1), end=day(3, 31))


def test_customers_without_a_segment_form_the_blank_segment(data):
    """E (no segment) new at 100 on 1 Feb: March start MRR SMB 230, blank 100, so the 200 of
    CS cost splits 139.39 / 60.61 (13939.39 and 6060.60 cents: the spare cent goes to the
    larger remainder). The blank segment had no start MRR in its baseline months: undefined.
    Coverage: SMB's 120 of 480 + 100 = 20.69 %."""
    from decimal import Decimal

    e = f.CustomerFactory(source=data["source"], name="E", segment="")
    f.SubscriptionEventFactory(
        source=data["source"], customer=e, occurred_on=day(2, 1), mrr_after=Decimal("100.00")
    )
    report = cs_roi_report(start=day(3, 1), end=day(3, 31))
    segments = {row["segment"]: row for row in report["segments"]}
    assert list(segments) == ["", "Enterprise", "SMB"]
    assert (segments["SMB"]["cs_cost"], segments[""]["cs_cost"]) == ("139.39", "60.61")
    assert segments[""]["roi"] == "undefined"
    assert segments[""]["reason"] == "no MRR at the start of the baseline months"
    assert report["coverage"]["retention_roi_measurement_coverage"] == "20.6896551724"
