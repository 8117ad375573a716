"""The ingestible entities: for each, its model and the fields an integrator sends.

One declarative spec per entity drives everything: validation (validation.py), the upsert
columns (upsert.py), pending-reference resolution, the API docs (``entity_field_docs``) and
the admin import. Field names are what an integrator sends; references name the referenced
record's ``external_id`` in the same source (connector).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q

from finhub.core.money import CENT
from records import models as m
from records.models.base import SourcedRecord

if TYPE_CHECKING:
    from connectors.models import Connector

# One record's cleaned values by field name (of the kinds below), as validation returns them.
Row = dict[str, Any]
# Messages per field name; "non_field_errors" for the record as a whole.
FieldErrors = dict[str, list[str]]

# Field kinds and what each accepts.
KIND_HELP = {
    "str": "string (surrounding whitespace is trimmed)",
    "date": "date, ISO 8601 (YYYY-MM-DD)",
    "datetime": "date-time, ISO 8601 with a UTC offset (e.g. 2026-01-31T12:00:00Z)",
    "money": "decimal number (JSON number or string), at most 2 decimals, never NaN/Infinity",
    "decimal": "decimal number (JSON number or string)",
    "int": "integer",
    "bool": "boolean",
    "choice": "one of the listed values",
    "currency": "ISO 4217 currency code (e.g. EUR)",
    "ref": "external_id of a record of the referenced entity from the same source",
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an entity as the integrator sends it."""

    name: str
    kind: str
    required: bool = False
    help: str = ""
    column: str = ""  # model attribute when it differs from ``name``
    max_length: int = 0
    choices: tuple[str, ...] = ()
    target: str = ""  # referenced entity (kind "ref")
    min_value: Decimal | int | None = None
    max_value: Decimal | int | None = None
    exclusive_min: bool = False  # min_value itself is not allowed (e.g. rate > 0)
    max_digits: int = 18
    decimal_places: int = 2
    default: Any = None

    @property
    def attr(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class EntitySpec:
    """An ingestible entity: its model, its fields and its cross-field rules."""

    name: str
    model: type[SourcedRecord]
    fields: tuple[FieldSpec, ...]
    description: str = ""
    # Cross-field rule on one valid row's cleaned values -> {field: [messages]}.
    clean: Callable[[Row], FieldErrors] | None = None
    # Rules across the request / against stored rows (one query at most) ->
    # {row position in ``rows``: {field: [messages]}}.
    batch_clean: Callable[..., dict[int, FieldErrors]] | None = None
    # Runs in the write transaction before the upsert, with the valid cleaned rows.
    before_write: Callable[..., None] | None = None
    # The field (a date, or a date-time taken in UTC as reconciliation does) whose month a
    # record belongs to: the month whose figures it counts in, so a change to it after that
    # month is locked is a post-close adjustment (records/ingestion/locks.py). Blank for
    # master data and rates, which belong to no month.
    period_field: str = ""
    field_map: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_map", {f.name: f for f in self.fields})
        if self.period_field and self.field_map[self.period_field].kind not in ("date", "datetime"):
            raise TypeError(f"{self.name}.{self.period_field} is not a date")

    @property
    def refs(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.kind == "ref")


def _s(name: str, max_length: int = 200, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "str", max_length=max_length, default="", **kw)


def _ref(name: str, target: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "ref", target=target, **kw)


def _money(name: str = "amount", *, non_negative: bool = False, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "money", min_value=Decimal(0) if non_negative else None, **kw)


def _currency(name: str = "currency", **kw: Any) -> FieldSpec:
    return FieldSpec(name, "currency", **kw)


def _choice(name: str, choices: Iterable[tuple[str, str]], **kw: Any) -> FieldSpec:
    return FieldSpec(name, "choice", choices=tuple(c for c, _ in choices), **kw)


# --- cross-field rules -------------------------------------------------------------------


def _date_order(start: str, end: str) -> Callable[[Row], FieldErrors]:
    def check(row: Row) -> FieldErrors:
        if row.get(start) is not None and row.get(end) is not None and row[end] < row[start]:
            return {end: [f"Must be on or after {start}."]}
        return {}

    return check


def _all(*checks: Callable[[Row], FieldErrors]) -> Callable[[Row], FieldErrors]:
    def check(row: Row) -> FieldErrors:
        errors: FieldErrors = {}
        for c in checks:
            for k, msgs in c(row).items():
                errors.setdefault(k, []).extend(msgs)
        return errors

    return check


def _campaign_clean(row: Row) -> FieldErrors:
    if row.get("planned_budget") is not None and not row.get("currency"):
        return {"currency": ["Required when planned_budget is given."]}
    return {}


def _month_first_day(row: Row) -> FieldErrors:
    if row["month"].day != 1:
        return {"month": ["Must be the first day of a month (YYYY-MM-01)."]}
    return {}


def _deal_clean(row: Row) -> FieldErrors:
    if row["status"] in ("won", "lost") and row.get("closed_at") is None:
        return {"closed_at": ["Required when status is won or lost."]}
    return {}


def _subscription_clean(row: Row) -> FieldErrors:
    if row["type"] == "churn" and row["mrr_after"] != 0:
        return {"mrr_after": ["Must be 0 for a churn event."]}
    if row["type"] in ("new", "expansion", "reactivation") and row["mrr_after"] <= 0:
        return {"mrr_after": [f"Must be greater than 0 for a {row['type']} event."]}
    return {}


def _initiative_cost_clean(row: Row) -> FieldErrors:
    if row["kind"] == "time":
        errors: FieldErrors = {}
        if row.get("hours") is None:
            errors["hours"] = ["Required when kind is time."]
        if row.get("hourly_rate") is None:
            errors["hourly_rate"] = ["Required when kind is time."]
        if errors:
            return errors
        expected = (row["hours"] * row["hourly_rate"]).quantize(CENT, rounding=ROUND_HALF_UP)
        if row.get("amount") is None:
            row["amount"] = expected
        elif row["amount"] != expected:
            return {"amount": [f"Must equal hours x hourly_rate = {expected}."]}
    elif row.get("amount") is None:
        return {"amount": ["This field is required."]}
    return {}


def _budget_batch_clean(*, source: Connector, rows: list[Row]) -> dict[int, FieldErrors]:
    """(fiscal_year, version) is unique per source; one current version per fiscal year."""
    errors: dict[int, FieldErrors] = {}
    seen: dict[tuple[int, int], int] = {}
    current: dict[int, int] = {}
    for pos, row in enumerate(rows):
        key = (row["fiscal_year"], row["version"])
        if key in seen:
            errors.setdefault(pos, {})["version"] = [
                f"Fiscal year {key[0]} version {key[1]} appears twice in this request."
            ]
        seen.setdefault(key, pos)
        if row["is_current"]:
            if row["fiscal_year"] in current:
                errors.setdefault(pos, {})["is_current"] = [
                    f"Only one version of fiscal year {row['fiscal_year']} can be current."
                ]
            current.setdefault(row["fiscal_year"], pos)
    if rows:
        # The same query finds whether the source holds FinHub's scenarios (refused below).
        taken = list(
            m.Budget.objects.filter(source=source)
            .filter(
                Q(fiscal_year__in={r["fiscal_year"] for r in rows}) | Q(kind=m.Budget.Kind.SCENARIO)
            )
            .values_list("fiscal_year", "version", "external_id", "kind")
        )
        owner = {(fy, v): ext for fy, v, ext, _kind in taken}
        if any(kind == m.Budget.Kind.SCENARIO for *_, kind in taken):
            return {pos: {"non_field_errors": [SCENARIOS_REFUSED]} for pos in range(len(rows))}
        for pos, row in enumerate(rows):
            other = owner.get((row["fiscal_year"], row["version"]))
            if other is not None and other != row["external_id"]:
                errors.setdefault(pos, {})["version"] = [
                    f"Fiscal year {row['fiscal_year']} version {row['version']} already exists "
                    f"as budget {other!r}."
                ]
    return errors


SCENARIOS_REFUSED = (
    "This source holds FinHub's budget scenarios; they are changed in FinHub (Admin > Budgets, "
    "scenario drivers), never through ingestion."
)


def _budget_lines_batch_clean(*, source: Connector, rows: list[Row]) -> dict[int, FieldErrors]:
    """Scenario lines are computed by FinHub from their drivers: a source that holds
    scenarios takes no budget lines (one query)."""
    if rows and m.Budget.all_objects.filter(source=source, kind=m.Budget.Kind.SCENARIO).exists():
        return {pos: {"non_field_errors": [SCENARIOS_REFUSED]} for pos in range(len(rows))}
    return {}


def _budget_before_write(*, source: Connector, rows: list[Row]) -> None:
    """A version arriving as current takes the mark from the previous current one."""
    current = {r["fiscal_year"]: r["external_id"] for r in rows if r["is_current"]}
    for fiscal_year, external_id in current.items():
        m.Budget.objects.filter(source=source, fiscal_year=fiscal_year, is_current=True).exclude(
            external_id=external_id
        ).update(is_current=False)


# --- the registry ---------------------------------------------------------------------------

_SPECS = [
    EntitySpec(
        "fx_rates",
        m.FxRate,
        (
            _currency("currency", required=True, help="Currency converted from."),
            _currency(
                "quote_currency",
                help="Currency converted to; defaults to the reporting currency.",
            ),
            FieldSpec("date", "date", required=True),
            FieldSpec(
                "rate",
                "decimal",
                required=True,
                max_digits=20,
                decimal_places=10,
                min_value=Decimal(0),
                exclusive_min=True,
                help="Units of quote_currency for 1 unit of currency.",
            ),
        ),
        "Daily FX rates.",
    ),
    EntitySpec(
        "departments",
        m.Department,
        (
            _s("name", required=True),
            _s("code", 50, help="Cost-center code."),
            _ref("parent", "departments", help="Parent department."),
        ),
        "Departments / cost centers.",
    ),
    EntitySpec(
        "accounts",
        m.Account,
        (
            _s("code", 50, required=True, help="Account number in the chart of accounts."),
            _s("name", required=True),
            _choice("type", m.Account.Type.choices, required=True),
            FieldSpec(
                "is_sales_marketing",
                "bool",
                default=False,
                help="Counts as sales & marketing cost (CAC).",
            ),
        ),
        "Chart of accounts.",
    ),
    EntitySpec(
        "gl_lines",
        m.GLLine,
        (
            _ref("account", "accounts", required=True, help="external_id of the account."),
            _ref("department", "departments"),
            FieldSpec("posting_date", "date", required=True),
            _money(
                "amount",
                required=True,
                # As the demo ERP sends them and the dashboards add them up: an invoice is
                # +revenue, a salary +expense; never debit/credit signs.
                help="Amount in the account's own direction: revenue and expenses positive; "
                "a reversal, refund or credit note negative.",
            ),
            _currency(required=True),
            _s("description", 500),
            _ref("campaign", "campaigns"),
            _ref(
                "initiative",
                "initiatives",
                help="The product initiative this cost is booked against (its ROI counts it: do "
                "not send the same money again as a gl initiative cost).",
            ),
            _ref("customer", "customers"),
        ),
        "General-ledger lines.",
        period_field="posting_date",
    ),
    EntitySpec(
        "invoices",
        m.Invoice,
        (
            _s("number", 100, help="Invoice number as printed."),
            _ref("customer", "customers"),
            _ref("deal", "deals", help="The CRM deal this revenue belongs to."),
            FieldSpec("issue_date", "date", required=True),
            FieldSpec("due_date", "date"),
            _money(required=True, non_negative=True),
            _currency(required=True),
            _choice("status", m.Invoice.Status.choices, default="open"),
        ),
        "Revenue invoices.",
        clean=_date_order("issue_date", "due_date"),
        period_field="issue_date",
    ),
    EntitySpec(
        "budgets",
        m.Budget,
        (
            _s("name", required=True),
            FieldSpec("fiscal_year", "int", required=True, min_value=1900, max_value=2200),
            FieldSpec(
                "version",
                "int",
                default=0,
                min_value=0,
                max_value=1000,
                help="0 = original, 1 = reforecast 1, 2 = reforecast 2…",
            ),
            FieldSpec("is_current", "bool", default=False, help="The version reported against."),
        ),
        "Budget versions per fiscal year.",
        batch_clean=_budget_batch_clean,
        before_write=_budget_before_write,
    ),
    EntitySpec(
        "budget_lines",
        m.BudgetLine,
        (
            _ref("budget", "budgets", required=True),
            _ref("account", "accounts", required=True),
            _ref("department", "departments"),
            FieldSpec("month", "date", required=True, help="First day of the month."),
            _money(required=True),
            _currency(required=True),
            _ref("campaign", "campaigns"),
            _ref("initiative", "initiatives"),
        ),
        "Budget lines per account x department x month.",
        clean=_month_first_day,
        batch_clean=_budget_lines_batch_clean,
        period_field="month",
    ),
    EntitySpec(
        "channels",
        m.Channel,
        (
            _s("name", required=True),
            FieldSpec("is_paid", "bool", default=False, help="Paid channel (paid CAC)."),
        ),
        "Marketing channels.",
    ),
    EntitySpec(
        "campaigns",
        m.Campaign,
        (
            _s("name", required=True),
            _ref("channel", "channels"),
            FieldSpec("start_date", "date"),
            FieldSpec("end_date", "date"),
            _money("planned_budget", non_negative=True),
            _currency(),
            _s("owner"),
        ),
        "Marketing campaigns.",
        clean=_all(_date_order("start_date", "end_date"), _campaign_clean),
    ),
    EntitySpec(
        "campaign_spend",
        m.CampaignSpend,
        (
            _ref("campaign", "campaigns", required=True),
            FieldSpec("date", "date", required=True),
            _money(required=True, non_negative=True),
            _currency(required=True),
        ),
        "Daily spend per campaign.",
        period_field="date",
    ),
    EntitySpec(
        "contacts",
        m.Contact,
        (
            _choice("kind", m.Contact.Kind.choices, default="person"),
            _s("name"),
            _s("company"),
            _ref("account", "contacts", help="The account contact this person belongs to."),
            FieldSpec("first_seen_at", "datetime"),
        ),
        "People or accounts in the funnel (no e-mail addresses).",
    ),
    EntitySpec(
        "touchpoints",
        m.Touchpoint,
        (
            _ref("contact", "contacts", required=True),
            _ref("campaign", "campaigns"),
            _ref("channel", "channels"),
            FieldSpec("occurred_at", "datetime", required=True),
            _choice("type", m.Touchpoint.Type.choices, required=True),
        ),
        "Marketing touchpoints of contacts.",
        period_field="occurred_at",
    ),
    EntitySpec("sales_teams", m.SalesTeam, (_s("name", required=True),), "Sales teams."),
    EntitySpec(
        "sales_reps",
        m.SalesRep,
        (
            _s("name", required=True),
            _ref("team", "sales_teams"),
            FieldSpec("active", "bool", default=True),
        ),
        "Sales representatives.",
    ),
    EntitySpec(
        "quotas",
        m.Quota,
        (
            _ref("rep", "sales_reps", required=True),
            FieldSpec("period_start", "date", required=True),
            FieldSpec("period_end", "date", required=True),
            _money(required=True, non_negative=True),
            _currency(required=True),
        ),
        "Quotas per rep and period.",
        clean=_date_order("period_start", "period_end"),
        # Attainment against it is reported for the period it starts in.
        period_field="period_start",
    ),
    EntitySpec(
        "deals",
        m.Deal,
        (
            _s("name"),
            _ref("contact", "contacts"),
            _ref("customer", "customers"),
            _money(required=True, non_negative=True),
            _currency(required=True),
            _s("stage", 100),
            _choice("status", m.Deal.Status.choices, default="open"),
            FieldSpec("created_at", "datetime", required=True, column="opened_at"),
            FieldSpec("closed_at", "datetime"),
            _ref("rep", "sales_reps"),
            _ref("campaign", "campaigns", help="Source campaign."),
        ),
        "Opportunities / deals.",
        clean=_all(_date_order("created_at", "closed_at"), _deal_clean),
        # A deal counts (won / lost) in the month it closed; an open deal in none.
        period_field="closed_at",
    ),
    EntitySpec(
        "customers",
        m.Customer,
        (
            _s("name", required=True),
            FieldSpec("acquired_on", "date"),
            _ref("acquisition_channel", "channels"),
            _ref("contact", "contacts"),
            _s(
                "segment",
                50,
                help='Customer segment as the source names it (e.g. "SMB", "Mid-market", '
                '"Enterprise"); retention and customer-success ROI are reported per segment.',
            ),
            _s("cs_owner", help="The customer-success owner (name or e-mail, as sent)."),
        ),
        "Customers.",
    ),
    EntitySpec(
        "subscription_events",
        m.SubscriptionEvent,
        (
            _ref("customer", "customers", required=True),
            FieldSpec("occurred_on", "date", required=True),
            _choice("type", m.SubscriptionEvent.Type.choices, required=True),
            _money("mrr_after", required=True, non_negative=True, help="MRR after the event."),
            _currency(required=True),
        ),
        "Subscription events that change MRR.",
        clean=_subscription_clean,
        period_field="occurred_on",
    ),
    EntitySpec(
        "initiatives",
        m.Initiative,
        (
            _s("name", required=True),
            _s("product"),
            _s("owner"),
            FieldSpec("start_date", "date"),
            FieldSpec("end_date", "date"),
            _ref("department", "departments", help="Cost center whose GL cost it carries."),
        ),
        "Product development initiatives.",
        clean=_date_order("start_date", "end_date"),
    ),
    EntitySpec(
        "initiative_costs",
        m.InitiativeCost,
        (
            _ref("initiative", "initiatives", required=True),
            FieldSpec("date", "date", required=True),
            _choice("kind", m.InitiativeCost.Kind.choices, required=True),
            FieldSpec("hours", "decimal", max_digits=10, min_value=Decimal(0)),
            _money("hourly_rate", non_negative=True),
            _money(
                non_negative=True,
                help="Required unless kind is time (then hours x hourly_rate).",
            ),
            _currency(required=True),
            _s("description", 500),
        ),
        "Costs of initiatives (GL cost centers or time entries x rate).",
        clean=_initiative_cost_clean,
        period_field="date",
    ),
    EntitySpec(
        "initiative_benefits",
        m.InitiativeBenefit,
        (
            _ref("initiative", "initiatives", required=True),
            FieldSpec("date", "date", required=True),
            _choice("kind", m.InitiativeBenefit.Kind.choices, required=True),
            _money(required=True),
            _currency(required=True),
            _s("description", 500),
        ),
        "Revenue or retained MRR credited to initiatives.",
        period_field="date",
    ),
]

ENTITIES: dict[str, EntitySpec] = {s.name: s for s in _SPECS}
ENTITY_NAMES: tuple[str, ...] = tuple(ENTITIES)
ENTITY_BY_MODEL: dict[type[SourcedRecord], EntitySpec] = {s.model: s for s in _SPECS}

# The fields every entity has, besides its own.
COMMON_FIELDS = (
    FieldSpec(
        "external_id",
        "str",
        required=True,
        max_length=200,
        help="The record's id in the source; (source, external_id) is unique.",
    ),
    FieldSpec(
        "updated_at",
        "datetime",
        column="source_updated_at",
        help="When the source last changed the record; an older version never overwrites "
        "a newer one.",
    ),
)


def default_quote_currency() -> str:
    currency: str = settings.FINHUB_REPORTING_CURRENCY
    return currency


def get_spec(entity: str) -> EntitySpec | None:
    return ENTITIES.get(entity)


def referrers(entity: str) -> list[tuple[EntitySpec, FieldSpec]]:
    """Every (entity, field) that references ``entity``: resolved when it is ingested."""
    return [(s, f) for s in _SPECS for f in s.refs if f.target == entity]


def field_docs(spec: EntitySpec) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for f in (*COMMON_FIELDS, *spec.fields):
        doc: dict[str, Any] = {"type": f.kind, "required": f.required}
        text = KIND_HELP[f.kind]
        if f.kind == "ref":
            text = f"external_id of a {f.target} record from the same source"
        if f.choices:
            doc["choices"] = list(f.choices)
        if f.max_length:
            doc["max_length"] = f.max_length
        if f.kind in ("money", "decimal"):
            doc["max_digits"] = f.max_digits
            doc["decimal_places"] = f.decimal_places
        if f.min_value is not None:
            doc["minimum"] = str(f.min_value)
            doc["exclusive_minimum"] = f.exclusive_min
        if f.max_value is not None:
            doc["maximum"] = str(f.max_value)
        if f.default not in (None, ""):
            doc["default"] = f.default
        doc["help"] = f"{f.help} ({text})" if f.help else text
        docs[f.name] = doc
    return docs
