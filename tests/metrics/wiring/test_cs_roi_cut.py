"""A period's CS ROI report cut from the stored report of a longer one (``cs_roi_cut``) is
exactly the report computed for that period, and the report built from its month figures is
exactly the report computed from the ledgers as before (hand-worked dataset: retention_data.py,
plus a second and a third CS cost line, one in EUR, a customer without a segment and a
segment whose first event is in March)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from finhub.core.calendar import month_end, month_of
from metrics import selectors
from metrics.computations.retention import (
    baseline_churn_rate,
    baseline_months,
    baseline_undefined_reason,
    cs_cost_by_segment,
    cs_roi,
    ledger_segments,
    retention_roi_coverage,
)
from metrics.computations.subscriptions import MrrLedger, SubscriptionEvent, mrr_months
from metrics.reports import cs_roi as report_module
from metrics.reports.cac import gross_margin
from metrics.reports.cs_roi import (
    cs_roi_cut,
    cs_roi_from_figures,
    cs_roi_report,
    month_figures,
)
from metrics.reports.numbers import money, num
from metrics.reports.roi_settings import (
    baseline_months_count,
    cs_departments,
    value_horizon_months,
)
from metrics.reports.subscriptions import customer_events
from tests import factories as f
from tests.metrics.wiring.retention_data import day, subscriptions_dataset

pytestmark = pytest.mark.django_db

WHOLE = (dt.date(2025, 12, 1), day(3, 31))
MONTHS = [dt.date(2025, 12, 1), day(1, 1), day(2, 1), day(3, 1)]
#: Every (first, last) month pair inside the whole period, then periods with mid-month edges.
PERIODS = [(first, month_end(last)) for first in MONTHS for last in MONTHS if first <= last] + [
    (day(2, 10), day(3, 20)),
    (day(1, 15), day(1, 16)),
    (dt.date(2025, 12, 31), day(2, 1)),
    (day(3, 31), day(3, 31)),
]


@pytest.fixture
def data(retention_settings):
    found = subscriptions_dataset()
    src, cs, opex = found["source"], found["cs"], found["opex"]
    # More CS cost: January in USD, February in EUR (at 1.0833333333).
    f.GLLineFactory(
        source=src, account=opex, department=cs, posting_date=day(1, 12), amount="150.00"
    )
    f.FxRateFactory(source=src, currency_id="EUR", date=day(2, 9), rate="1.0833333333")
    f.GLLineFactory(
        source=src,
        account=opex,
        department=cs,
        posting_date=day(2, 9),
        amount="333.33",
        currency_id="EUR",
    )
    # A customer without a segment (E, EUR from February) and a segment first seen in March.
    nobody = f.CustomerFactory(source=src, name="E", segment="")
    mid = f.CustomerFactory(source=src, name="F", segment="Mid-market")
    f.FxRateFactory(source=src, currency_id="EUR", date=day(2, 20), rate="1.0833333333")
    for customer, on, mrr, kind, currency in (
        (nobody, day(2, 20), "60.00", "new", "EUR"),
        (nobody, day(3, 10), "90.00", "expansion", "USD"),
        (mid, day(3, 3), "75.50", "new", "USD"),
    ):
        f.SubscriptionEventFactory(
            source=src,
            customer=customer,
            occurred_on=on,
            mrr_after=Decimal(mrr),
            type=kind,
            currency_id=currency,
        )
    return found


def stored(report: dict) -> dict:
    """The report as a snapshot stores and reads it back (JSON)."""
    return json.loads(json.dumps(report, cls=DjangoJSONEncoder))


def old_cs_roi_report(*, start: dt.date, end: dt.date) -> dict:
    """The report as computed before the month figures (sums by customer for the coverage),
    the reference the figures' report must equal."""
    first, last = month_of(start), month_of(end)
    departments = cs_departments()
    horizon = value_horizon_months()
    baseline = baseline_months(first, baseline_months_count())
    margin = gross_margin()
    data = customer_events(end=month_end(last))
    convert = selectors.converter(start=first, end=month_end(last))
    cost_by_month = selectors.department_cost_by_month(
        start=first, end=month_end(last), departments=departments, convert=convert
    )
    cost = sum(cost_by_month.values(), Decimal(0))
    ledger = data.ledger()
    history_first = ledger.first_month

    def period_roi(seg: MrrLedger, seg_cost: Decimal):
        period = mrr_months(seg, first, last)
        base = [mrr_months(seg, month, month)[0] for month in baseline]
        result = cs_roi(
            period_months=period,
            baseline_rate=baseline_churn_rate(base, history_first),
            cs_cost=seg_cost,
            gross_margin=margin,
            value_horizon_months=horizon,
            baseline_reason=baseline_undefined_reason(base, history_first),
        )
        return result, period

    total, total_months = period_roi(ledger, cost)
    segment_of = data.segment_of()
    ledgers = data.segment_ledgers()
    periods = {name: mrr_months(seg, first, last) for name, seg in ledgers.items()}
    allocated = cs_cost_by_segment(
        cost, {name: sum((m.start_mrr for m in ms), Decimal(0)) for name, ms in periods.items()}
    )
    segments = []
    defined = set()
    for name, seg in ledgers.items():
        result, months = period_roi(seg, allocated.get(name, Decimal(0)))
        if result.roi is not None:
            defined.add(name)
        segments.append({"segment": name, **report_module._roi_json(result, months)})
    end_mrr = ledger.month_end_mrr(last)
    coverage = retention_roi_coverage(
        end_mrr_by_customer=end_mrr, segment_of=segment_of, segments_with_defined_roi=defined
    )
    total_end = sum((v for v in end_mrr.values() if v > 0), Decimal(0))
    covered = sum(
        (v for c, v in end_mrr.items() if v > 0 and segment_of.get(c, "") in defined),
        Decimal(0),
    )
    return {
        "reporting_currency": selectors.reporting_currency(),
        "settings": {
            "cs_departments": departments,
            "gross_margin": num(margin),
            "value_horizon_months": horizon,
            "baseline_months": len(baseline),
            "baseline_first": baseline[0].isoformat(),
            "baseline_last": baseline[-1].isoformat(),
        },
        "total": report_module._roi_json(total, total_months),
        "segments": segments,
        "cs_cost": money(cost),
        "unallocated_cs_cost": money(cost - sum(allocated.values(), Decimal(0))),
        "coverage": {
            "retention_roi_measurement_coverage": report_module.rate(coverage),
            "covered_mrr": money(covered),
            "end_mrr": money(total_end),
            "segments_with_roi": sorted(defined),
        },
        "missing_fx": data.missing_fx + convert.missing,
    }


def without_figures(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "month_figures"}


@pytest.mark.parametrize(("start", "end"), [WHOLE, *PERIODS])
def test_report_from_figures_equals_the_report_from_the_ledgers(data, start, end):
    report = cs_roi_report(start=start, end=end)
    assert without_figures(report) == old_cs_roi_report(start=start, end=end)
    assert report["missing_fx"] == []


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_cut_equals_computed(data, start, end):
    whole = stored(cs_roi_report(start=WHOLE[0], end=WHOLE[1]))
    computed = cs_roi_report(start=start, end=end)
    assert cs_roi_cut(whole, start, end) == computed
    assert cs_roi_cut(whole, month_of(start), month_of(end)) == computed


def test_the_data_behind_the_periods(data):
    """The periods cover what the cut has to get right: a baseline before the history, one
    inside it, segments absent before their first event, CS cost in several months."""
    whole = cs_roi_report(start=WHOLE[0], end=WHOLE[1])
    figures = whole["month_figures"]
    assert figures["history_first"] == "2026-01-01"
    assert figures["segment_first"] == {
        "": "2026-02-01",
        "Enterprise": "2026-01-01",
        "Mid-market": "2026-03-01",
        "SMB": "2026-01-01",
    }
    assert [row["month"] for row in figures["months"]] == [
        "2025-10-01",
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    ]
    # Exact: EUR 333.33 x 1.0833333333, and EUR 60 x 1.0833333333 for E.
    assert [row.get("cs_cost") for row in figures["months"]] == [
        None,
        None,
        "0",
        "150",
        "361.107499988889",
        "200",
    ]
    february = figures["months"][4]
    assert february["segments"][""]["end_mrr"] == "64.999999998"
    assert all(row["end_mrr_exact"] for row in figures["months"])
    january = cs_roi_report(start=day(1, 1), end=day(1, 31))
    assert january["month_figures"]["history_first"] == "2026-01-01"
    assert [s["segment"] for s in january["segments"]] == ["Enterprise", "SMB"]
    assert january["total"]["reason"] == "baseline months not all in the history"
    march = cs_roi_report(start=day(3, 1), end=day(3, 31))
    assert march["total"]["reason"] == ""
    assert march["coverage"]["segments_with_roi"]
    december = cs_roi_report(start=WHOLE[0], end=dt.date(2025, 12, 31))
    assert december["month_figures"]["history_first"] is None
    assert december["segments"] == []


def test_cut_of_the_whole_period_is_the_whole_report(data, django_assert_num_queries):
    whole = cs_roi_report(start=WHOLE[0], end=WHOLE[1])
    with django_assert_num_queries(0):  # the settings only
        cut = cs_roi_cut(stored(whole), *WHOLE)
        part = cs_roi_cut(stored(whole), day(2, 1), day(3, 31))
    assert cut == whole
    assert part == cs_roi_report(start=day(2, 1), end=day(3, 31))


def test_cut_follows_the_current_margin_horizon_and_baseline(data, settings):
    whole = stored(cs_roi_report(start=WHOLE[0], end=WHOLE[1]))
    settings.FINHUB_GROSS_MARGIN = "0.75"
    settings.FINHUB_VALUE_HORIZON_MONTHS = 6
    settings.FINHUB_BASELINE_MONTHS = 3  # Feb needs Nov - Jan: in the whole report's figures
    for start, end in ((day(2, 1), day(3, 31)), (day(3, 1), day(3, 31))):
        computed = cs_roi_report(start=start, end=end)
        assert cs_roi_cut(whole, start, end) == computed
    # December's baseline is now Sep - Nov: September is not in the whole report's figures.
    assert cs_roi_cut(whole, day(1, 1), day(1, 31)) == cs_roi_report(
        start=day(1, 1), end=day(1, 31)
    )
    assert cs_roi_cut(whole, WHOLE[0], month_end(WHOLE[0])) is None


def test_none_when_a_month_is_missing(data):
    shorter = stored(cs_roi_report(start=day(2, 1), end=day(3, 31)))  # figures Dec - Mar
    assert cs_roi_cut(shorter, day(2, 1), day(2, 28)) == cs_roi_report(
        start=day(2, 1), end=day(2, 28)
    )
    assert cs_roi_cut(shorter, day(1, 1), day(3, 31)) is None  # January: a baseline month
    assert cs_roi_cut(shorter, day(3, 1), day(4, 30)) is None  # April: after the figures
    whole = stored(cs_roi_report(start=WHOLE[0], end=WHOLE[1]))
    whole["month_figures"]["months"] = [
        row for row in whole["month_figures"]["months"] if row["month"] != "2026-01-01"
    ]
    december = (WHOLE[0], month_end(WHOLE[0]))  # its baseline: Oct - Nov
    assert cs_roi_cut(whole, *december) == cs_roi_report(start=december[0], end=december[1])
    assert cs_roi_cut(whole, day(3, 1), day(3, 31)) is None  # baseline Jan - Feb
    assert cs_roi_cut(whole, day(1, 1), day(2, 28)) is None  # a period month


def test_none_when_an_amount_was_left_out_for_want_of_a_rate(data):
    whole = stored(cs_roi_report(start=WHOLE[0], end=WHOLE[1]))
    left_out = {"currency": "GBP", "date": "2026-01-05", "amount": "10.00"}
    assert cs_roi_cut({**whole, "missing_fx": [left_out]}, day(3, 1), day(3, 31)) is None


def test_none_when_the_cs_departments_or_currency_changed(data, settings):
    whole = stored(cs_roi_report(start=WHOLE[0], end=WHOLE[1]))
    settings.FINHUB_CS_DEPARTMENTS = ["CS", "Support"]
    assert cs_roi_cut(whole, day(3, 1), day(3, 31)) is None
    settings.FINHUB_CS_DEPARTMENTS = ["CS"]
    assert cs_roi_cut(whole, day(3, 1), day(3, 31)) is not None
    settings.FINHUB_REPORTING_CURRENCY = "EUR"
    assert cs_roi_cut(whole, day(3, 1), day(3, 31)) is None


def test_none_without_figures(data):
    whole = stored(cs_roi_report(start=WHOLE[0], end=WHOLE[1]))
    assert cs_roi_cut(without_figures(whole), day(3, 1), day(3, 31)) is None


# --- month ends whose Σ MRR could round ----------------------------------------------------

#: 28 significant digits each: their sum has more than the context's precision.
FINE = Decimal("0.1234567890123456789012345678")
LARGE = Decimal("123456.7890123456789012345678")
#: Fine but summed exactly with the others.
MEDIUM = Decimal("0.123456789012345678")


def cut_settings(settings) -> None:
    """The settings :func:`ledger_report` uses, for the cut to read."""
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_CS_DEPARTMENTS = ["CS"]
    settings.FINHUB_GROSS_MARGIN = "0.80"
    settings.FINHUB_BASELINE_MONTHS = 2
    settings.FINHUB_VALUE_HORIZON_MONTHS = 12


def ledger_report(events: list[SubscriptionEvent], segment_of: dict, cost: Decimal) -> dict:
    """The report of March 2026 from a ledger made from ``events`` (no data read), its
    coverage summed by customer when it could round."""
    ledger = MrrLedger(events)
    figures = month_figures(
        first=day(3, 1),
        last=day(3, 1),
        baseline=baseline_months(day(3, 1), 2),
        ledger=ledger,
        segment_ledgers=ledger_segments(ledger, segment_of),
        cost_by_month={day(3, 1): cost},
        departments=["CS"],
        margin=Decimal("0.80"),
    )

    def covered(defined: set[str]) -> Decimal:
        end = ledger.month_end_mrr(day(3, 1))
        return sum((v for c, v in end.items() if v > 0 and segment_of[c] in defined), Decimal(0))

    return cs_roi_from_figures(
        figures,
        first=day(3, 1),
        last=day(3, 1),
        baseline_count=2,
        horizon=12,
        margin=Decimal("0.80"),
        currency="USD",
        missing_fx=[],
        covered_mrr=covered,
    )


def events_of(values: dict[str, Decimal]) -> list[SubscriptionEvent]:
    out = []
    for customer, value in values.items():
        out.append(SubscriptionEvent(customer, day(1, 5), value))
        out.append(SubscriptionEvent(customer, day(2, 5), value * 2 if customer != "b" else 0))
        out.append(SubscriptionEvent(customer, day(3, 5), value))
    return out


@pytest.mark.django_db(False)
def test_coverage_from_segment_sums_equals_the_sum_by_customer(settings):
    segment_of = {"a": "SMB", "b": "Enterprise", "c": "SMB", "d": ""}
    values = {"a": Decimal("100.25"), "b": Decimal("0.333"), "c": MEDIUM, "d": Decimal("7")}
    report = ledger_report(events_of(values), segment_of, Decimal("100"))
    march = report["month_figures"]["months"][-1]
    assert march["end_mrr_exact"]
    end = {c: v for c, v in values.items()}
    assert report["coverage"]["end_mrr"] == money(sum(end.values(), Decimal(0)))
    defined = set(report["coverage"]["segments_with_roi"])
    assert defined == {"", "SMB"}  # Enterprise: no MRR at March's start, no CS cost
    covered = sum((v for c, v in end.items() if segment_of[c] in defined), Decimal(0))
    assert report["coverage"]["covered_mrr"] == money(covered)
    coverage = retention_roi_coverage(
        end_mrr_by_customer=end, segment_of=segment_of, segments_with_defined_roi=defined
    )
    assert report["coverage"]["retention_roi_measurement_coverage"] == report_module.rate(coverage)
    # The cut (with the settings the report was made with) gives the same.
    cut_settings(settings)
    assert cs_roi_cut(stored(report), day(3, 1), day(3, 31)) == report


@pytest.mark.django_db(False)
def test_month_end_that_could_round_is_summed_by_customer_and_not_cut(settings):
    segment_of = {"a": "SMB", "b": "Enterprise", "c": "SMB", "d": "Enterprise"}
    values = {"a": LARGE, "b": FINE, "c": FINE, "d": LARGE}
    events = events_of(values)
    report = ledger_report(events, segment_of, Decimal("100"))
    march = report["month_figures"]["months"][-1]
    assert not march["end_mrr_exact"]
    # The report's coverage is the customers' sum, in their order, as before.
    ledger = MrrLedger(events)
    end = ledger.month_end_mrr(day(3, 1))
    defined = set(report["coverage"]["segments_with_roi"])
    covered = sum((v for c, v in end.items() if v > 0 and segment_of[c] in defined), Decimal(0))
    assert report["coverage"]["covered_mrr"] == money(covered)
    with pytest.raises(ValueError, match="could round"):
        cs_roi_from_figures(
            report["month_figures"],
            first=day(3, 1),
            last=day(3, 1),
            baseline_count=2,
            horizon=12,
            margin=Decimal("0.80"),
            currency="USD",
            missing_fx=[],
        )
    cut_settings(settings)
    assert cs_roi_cut(stored(report), day(3, 1), day(3, 31)) is None
