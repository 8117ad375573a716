"""The synthetic company's customer segments, Customer Success cost and product initiatives
(#12): what the CS ROI and initiative ROI reports are demonstrated with."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest

from connectors.sandbox.company import generate
from connectors.sandbox.shapes import RESOURCE_MAP, to_source

END = dt.date(2026, 10, 1)
SEGMENTS = {"SMB", "Mid-market", "Enterprise"}
# Per segment: (monthly salary of a CS manager, customers per manager, tools per customer).
CS_RATES = {
    "SMB": (Decimal(5500), 60, Decimal(20)),
    "Mid-market": (Decimal(7000), 20, Decimal(45)),
    "Enterprise": (Decimal(9500), 6, Decimal(120)),
}


@pytest.fixture(scope="module")
def company():
    return generate(seed=7, scale=0.2, end_month=END)


def month_end(month: dt.date) -> dt.date:
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def test_customers_have_a_believable_segment_mix_and_an_owner(company):
    customers = company.entities["customers"]
    mix = Counter(c["segment"] for c in customers)
    assert set(mix) == SEGMENTS
    assert mix["SMB"] > mix["Mid-market"] > mix["Enterprise"] > 0
    owners = defaultdict(set)
    for c in customers:
        assert c["cs_owner"]
        owners[c["segment"]].add(c["cs_owner"])
    # each segment has its own CS team
    assert not owners["SMB"] & owners["Mid-market"]
    assert not owners["Mid-market"] & owners["Enterprise"]
    # Enterprise customers start on larger MRR
    first = {
        s["customer"]: s["mrr_after"]
        for s in company.entities["subscription_events"]
        if s["type"] == "new"
    }
    by_segment = defaultdict(list)
    for c in customers:
        by_segment[c["segment"]].append(first[c["external_id"]])
    assert min(by_segment["Enterprise"]) > max(by_segment["Mid-market"]) > max(by_segment["SMB"])


def test_the_billing_system_serves_segment_and_owner(company):
    row = company.entities["customers"][0]
    record = to_source(RESOURCE_MAP[("billing", "customers")], row)
    assert record["metadata"] == {"segment": row["segment"], "success_manager": row["cs_owner"]}


def test_customer_success_lines_follow_the_live_customers_of_each_segment(company):
    e = company.entities
    (cs,) = [d for d in e["departments"] if d["external_id"] == "DEP-CS"]
    assert (cs["code"], cs["name"]) == ("CS", "Customer Success")
    lines = [line for line in e["gl_lines"] if line["department"] == "DEP-CS"]
    assert {line["account"] for line in lines} == {"ACC-5100", "ACC-6440"}

    # live customers per (month end, segment), from the billing system's events
    segment_of = {c["external_id"]: c["segment"] for c in e["customers"]}
    events = sorted(e["subscription_events"], key=lambda s: s["occurred_on"])
    expected: dict[tuple[dt.date, str, str], Decimal] = {}
    months = sorted({line["posting_date"].replace(day=1) for line in e["gl_lines"]})
    assert len(months) == 24
    for month in months:
        end = month_end(month)
        mrr: dict[str, Decimal] = {}
        for s in events:
            if s["occurred_on"] <= end:
                mrr[s["customer"]] = s["mrr_after"]
        live = Counter(segment_of[c] for c, value in mrr.items() if value > 0)
        for segment, n in live.items():
            salary, per_manager, tools = CS_RATES[segment]
            salaries = (n * salary / per_manager).quantize(Decimal("0.01"), ROUND_HALF_UP)
            expected[(end, segment, "ACC-5100")] = salaries
            expected[(end, segment, "ACC-6440")] = n * tools
    got = {}
    for line in lines:
        # "CS salaries, Mid-market segment (12 customers)"
        segment = line["description"].split(", ", 1)[1].split(" segment")[0]
        got[(line["posting_date"], segment, line["account"])] = line["amount"]
    assert got == expected
    # the cost grows with the customer base
    first, last = months[0], months[-1]
    cost = defaultdict(Decimal)
    for line in lines:
        cost[line["posting_date"].replace(day=1)] += line["amount"]
    assert cost[last] > 2 * cost[first]


def test_eight_initiatives_on_engineering_and_product(company):
    e = company.entities
    departments = {d["external_id"]: (d["code"], d["name"]) for d in e["departments"]}
    assert departments["DEP-ENG"] == ("ENG", "Engineering")
    assert departments["DEP-PRD"] == ("PRD", "Product")
    initiatives = {i["external_id"]: i for i in e["initiatives"]}
    assert [i["name"] for i in e["initiatives"]] == [
        "Self-serve onboarding",
        "Forecasting engine",
        "SSO and SCIM",
        "Mobile approvals",
        "Data warehouse sync",
        "Usage-based billing",
        "Audit trail",
        "Dashboard builder",
    ]
    assert {i["department"] for i in initiatives.values()} == {"DEP-ENG", "DEP-PRD"}

    tagged = [line for line in e["gl_lines"] if line["initiative"]]
    assert {line["initiative"] for line in tagged} == set(initiatives)
    for line in tagged:
        assert line["account"] == "ACC-6310"  # R&D contractors
        assert line["department"] == initiatives[line["initiative"]]["department"]
    kinds = Counter(c["kind"] for c in e["initiative_costs"])
    assert kinds["time"] > 0 and kinds["other"] > 0
    for cost in e["initiative_costs"]:
        if cost["kind"] == "time":
            assert cost["amount"] == (cost["hours"] * cost["hourly_rate"]).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
    assert {b["kind"] for b in e["initiative_benefits"]} == {"revenue", "retention"}
    # the last one is still being built: planned to end after the history, no benefit yet
    building = initiatives["INI-0008"]
    assert building["end_date"] > month_end(END)
    assert not [b for b in e["initiative_benefits"] if b["initiative"] == "INI-0008"]


def test_some_initiatives_have_paid_back_and_some_have_not(company):
    """Paid back over the history: benefit x 80% gross margin >= every cost (initiative costs
    plus tagged GL lines); costs all come before the first benefit."""
    e = company.entities
    cost = defaultdict(Decimal)
    benefit = defaultdict(Decimal)
    for c in e["initiative_costs"]:
        cost[c["initiative"]] += c["amount"]
    for line in e["gl_lines"]:
        if line["initiative"]:
            cost[line["initiative"]] += line["amount"]
    for b in e["initiative_benefits"]:
        benefit[b["initiative"]] += b["amount"]
    name = {i["external_id"]: i["name"] for i in e["initiatives"]}
    paid_back = {name[i] for i in name if benefit[i] * Decimal("0.8") >= cost[i]}
    assert paid_back == {
        "Self-serve onboarding",
        "Forecasting engine",
        "SSO and SCIM",
        "Audit trail",
    }
    last_cost = max(c["date"] for c in e["initiative_costs"] if c["initiative"] == "INI-0001")
    first_benefit = min(
        b["date"] for b in e["initiative_benefits"] if b["initiative"] == "INI-0001"
    )
    assert last_cost < first_benefit


def test_exactly_one_initiative_month_is_a_possible_double_count(company):
    e = company.entities
    gl_kind = {
        (c["initiative"], c["date"].replace(day=1))
        for c in e["initiative_costs"]
        if c["kind"] == "gl"
    }
    tagged = {
        (line["initiative"], line["posting_date"].replace(day=1))
        for line in e["gl_lines"]
        if line["initiative"]
    }
    # Forecasting engine starts in January 2025; in its third month the product tool also
    # records the contractor invoices the ERP booked and tagged
    assert gl_kind & tagged == {("INI-0002", dt.date(2025, 3, 1))}
    same_money = sorted(c["amount"] for c in e["initiative_costs"] if c["kind"] == "gl") == sorted(
        line["amount"]
        for line in e["gl_lines"]
        if line["initiative"] == "INI-0002"
        and line["posting_date"].replace(day=1) == dt.date(2025, 3, 1)
    )
    assert same_money
