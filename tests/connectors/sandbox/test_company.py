"""The synthetic company generator (connectors/sandbox/company.py)."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from connectors.sandbox.company import ENTITY_ORDER, generate
from records.ingestion.entities import COMMON_FIELDS, ENTITIES
from records.ingestion.validation import validate_records
from tests.factories import ConnectorFactory

END = dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def company():
    return generate(seed=7, scale=0.05, end_month=END)


def test_same_arguments_give_identical_data():
    first = generate(seed=11, scale=0.03, end_month=END)
    second = generate(seed=11, scale=0.03, end_month=END)
    assert first.entities == second.entities
    other = generate(seed=12, scale=0.03, end_month=END)
    assert other.entities["gl_lines"] != first.entities["gl_lines"]


def test_entities_come_in_dependency_order_with_the_canonical_field_names(company):
    assert tuple(company.entities) == ENTITY_ORDER
    assert set(ENTITY_ORDER) == set(ENTITIES)
    seen = set()
    for name in ENTITY_ORDER:
        spec = ENTITIES[name]
        assert {r.target for r in spec.refs} - {name} <= seen, name
        seen.add(name)
        names = {f.name for f in (*COMMON_FIELDS, *spec.fields)}
        for row in company.entities[name]:
            assert set(row) <= names, (name, set(row) - names)
            assert isinstance(row["external_id"], str) and row["external_id"]
            assert row["updated_at"].tzinfo is not None


@pytest.mark.django_db
@pytest.mark.parametrize("scale", [0.05, 1])
def test_every_canonical_row_passes_finhub_validation(company, scale):
    if scale != company.scale:
        company = generate(seed=7, scale=scale, end_month=END)
    source = ConnectorFactory()
    for name, rows in company.entities.items():
        assert rows, f"{name} is empty"
        valid, errors = validate_records(ENTITIES[name], rows, source=source)
        assert errors == [], (name, [e.as_dict() for e in errors[:3]])
        assert len(valid) == len(rows)


def test_references_point_at_generated_records(company):
    ids = {name: {r["external_id"] for r in rows} for name, rows in company.entities.items()}
    for name, rows in company.entities.items():
        assert len(ids[name]) == len(rows), f"duplicate ids in {name}"
        for ref in ENTITIES[name].refs:
            missing = {r[ref.name] for r in rows if r.get(ref.name)} - ids[ref.target]
            assert not missing, (name, ref.name, sorted(missing)[:3])


def test_covers_24_months_and_stamps_are_in_the_past_and_shared(company):
    assert company.start_month == dt.date(2024, 11, 1)
    cap = dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC)
    months = {line["posting_date"].replace(day=1) for line in company.entities["gl_lines"]}
    assert len(months) == 24
    for name, rows in company.entities.items():
        assert max(r["updated_at"] for r in rows) <= cap, name
    # real sources stamp in batches: many rows share one updated_at
    stamps = Counter(r["updated_at"] for r in company.entities["gl_lines"])
    assert max(stamps.values()) >= 5
    assert (
        Counter(r["updated_at"] for r in company.entities["touchpoints"]).most_common(1)[0][1] > 1
    )


def test_money_has_two_places_and_some_foreign_currency(company):
    for name, rows in company.entities.items():
        for row in rows:
            for key in ("amount", "mrr_after", "planned_budget", "hourly_rate"):
                value = row.get(key)
                if value is not None:
                    assert isinstance(value, Decimal) and value.as_tuple().exponent == -2, (
                        name,
                        row,
                    )
    currencies = Counter(r["currency"] for r in company.entities["gl_lines"])
    share = 1 - currencies[company.reporting_currency] / sum(currencies.values())
    assert 0.03 < share < 0.25
    fx = {r["currency"] for r in company.entities["fx_rates"]}
    assert fx == {"EUR", "GBP"} - {company.reporting_currency} | (
        {"USD"} if company.reporting_currency in ("EUR", "GBP") else set()
    )


def test_business_shape(company):
    e = company.entities
    # 9: R&D became Engineering and Product joined it (product development, #12)
    assert len(e["departments"]) == 9
    assert {"Sales", "Marketing", "Engineering", "Product", "G&A", "Customer Success"} <= {
        d["name"] for d in e["departments"]
    }
    assert len(e["channels"]) == 8 and any(c["is_paid"] for c in e["channels"])
    assert any(a["is_sales_marketing"] for a in e["accounts"])
    statuses = Counter(d["status"] for d in e["deals"])
    assert statuses["won"] and statuses["lost"] and statuses["open"]
    won = {d["external_id"]: d for d in e["deals"] if d["status"] == "won"}
    invoiced = [i for i in e["invoices"] if i["deal"]]
    assert {i["deal"] for i in invoiced} == set(won)
    matches = sum(i["amount"] == won[i["deal"]]["amount"] for i in invoiced)
    assert matches >= 0.9 * len(invoiced)
    assert {c["external_id"] for c in e["customers"]} == {d["customer"] for d in won.values()}
    assert {s["type"] for s in e["subscription_events"]} >= {"new", "expansion", "churn"}
    assert any(line["campaign"] for line in e["gl_lines"])
    assert any(line["initiative"] for line in e["gl_lines"])
    assert any(line["customer"] for line in e["gl_lines"])
    budgets = e["budgets"]
    for year in {b["fiscal_year"] for b in budgets}:
        versions = [b for b in budgets if b["fiscal_year"] == year]
        assert {b["version"] for b in versions} == {0, 1}
        assert sum(b["is_current"] for b in versions) == 1
    # journeys: won deals have touchpoints of their contact before the close
    touches = {}
    for t in e["touchpoints"]:
        touches.setdefault(t["contact"], []).append(t["occurred_at"])
    with_journey = sum(
        any(when <= d["closed_at"] for when in touches.get(d["contact"], ())) for d in won.values()
    )
    assert with_journey == len(won)


def test_sizes_at_scale_1():
    company = generate(seed=7, scale=1, end_month=END)
    counts = company.counts()
    assert counts["gl_lines"] == 20_000
    assert counts["touchpoints"] == 20_000
    assert counts["contacts"] == 4_000
    assert counts["deals"] == 1_500
    assert 50_000 <= company.total_rows() <= 70_000
