"""How each sandbox system shapes the canonical rows it serves (canonical -> source).

One table, ``RESOURCES``, says per system and resource which canonical entity it serves
and where each canonical field lives in the source record (a dotted path) with its wire
type. The server renders rows with ``to_source``; mappings.py derives the FinHub-side
``sync_config`` (source -> canonical) from the same table, so the two cannot drift.

Field names differ from the canonical ones on purpose (a real ERP says ``memo`` where
FinHub says ``description``), nested objects and integer cents appear where real APIs
use them, and decimals travel as JSON strings so no client parses them as floats.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: Wire types (the sync_config types): how a canonical value is written in the source.
TYPES = ("str", "decimal", "cents", "int", "bool", "date", "datetime")


@dataclass(frozen=True)
class Field:
    canonical: str
    path: str
    type: str = "str"


@dataclass(frozen=True)
class Resource:
    """One list endpoint: ``{prefix}/{name}`` serving canonical ``entity`` rows."""

    system: str
    name: str
    entity: str
    fields: tuple[Field, ...]
    # Constant source-only fields (not mapped; real payloads carry such noise).
    extra: tuple[tuple[str, Any], ...] = ()
    # What the ``invalid_rows`` fault breaks: (source path, "bad" value | "drop" the key).
    corrupt: tuple[str, str] = ("id", "drop")


def _f(canonical: str, path: str | None = None, type_: str = "str") -> Field:
    return Field(canonical, path or canonical, type_)


_ID = (_f("external_id", "id"), _f("updated_at", "updated_at", "datetime"))

RESOURCES: tuple[Resource, ...] = (
    # --- ERP: OAuth2, cursor ---------------------------------------------------------------
    Resource(
        "erp",
        "accounts",
        "accounts",
        (
            *_ID,
            _f("code", "number"),
            _f("name", "title"),
            _f("type", "category"),
            _f("is_sales_marketing", "sales_and_marketing", "bool"),
        ),
        extra=(("object", "ledger_account"),),
        corrupt=("title", "drop"),
    ),
    Resource(
        "erp",
        "departments",
        "departments",
        (*_ID, _f("name"), _f("code", "cost_center"), _f("parent", "parent_id")),
        extra=(("object", "department"),),
        corrupt=("name", "drop"),
    ),
    Resource(
        "erp",
        "fx-rates",
        "fx_rates",
        (
            *_ID,
            _f("currency", "base"),
            _f("quote_currency", "quote"),
            _f("date", "day", "date"),
            _f("rate", "rate", "decimal"),
        ),
        extra=(("object", "exchange_rate"),),
        corrupt=("rate", "bad"),
    ),
    Resource(
        "erp",
        "gl-lines",
        "gl_lines",
        (
            *_ID,
            _f("account", "account.id"),
            _f("department", "department_id"),
            _f("posting_date", "date", "date"),
            _f("amount", "amount.value", "decimal"),
            _f("currency", "amount.currency"),
            _f("description", "memo"),
            _f("campaign", "campaign_id"),
            _f("initiative", "project_id"),
            _f("customer", "customer_id"),
        ),
        extra=(("object", "journal_line"),),
        corrupt=("amount.value", "bad"),
    ),
    Resource(
        "erp",
        "invoices",
        "invoices",
        (
            *_ID,
            _f("number", "invoice_number"),
            _f("customer", "customer_id"),
            _f("deal", "deal_id"),
            _f("issue_date", "issued_on", "date"),
            _f("due_date", "due_on", "date"),
            _f("amount", "total.value", "decimal"),
            _f("currency", "total.currency"),
            _f("status", "state"),
        ),
        extra=(("object", "invoice"),),
        corrupt=("total.value", "bad"),
    ),
    # --- budget planning: basic auth, pages -----------------------------------------------
    Resource(
        "budget",
        "budgets",
        "budgets",
        (
            *_ID,
            _f("name", "label"),
            _f("fiscal_year", "year", "int"),
            _f("version", "version", "int"),
            _f("is_current", "current", "bool"),
        ),
        corrupt=("year", "drop"),
    ),
    Resource(
        "budget",
        "budget-lines",
        "budget_lines",
        (
            *_ID,
            _f("budget", "budget_id"),
            _f("account", "gl_account"),
            _f("department", "cost_center"),
            _f("month", "period", "date"),
            _f("amount", "value", "decimal"),
            _f("currency", "ccy"),
            _f("campaign", "campaign_ref"),
            _f("initiative", "initiative_ref"),
        ),
        corrupt=("value", "bad"),
    ),
    # --- CRM: static bearer, cursor -------------------------------------------------------
    Resource(
        "crm",
        "teams",
        "sales_teams",
        (*_ID, _f("name", "team_name")),
        corrupt=("team_name", "drop"),
    ),
    Resource(
        "crm",
        "reps",
        "sales_reps",
        (*_ID, _f("name", "full_name"), _f("team", "team_id"), _f("active", "is_active", "bool")),
        corrupt=("full_name", "drop"),
    ),
    Resource(
        "crm",
        "quotas",
        "quotas",
        (
            *_ID,
            _f("rep", "owner_id"),
            _f("period_start", "start", "date"),
            _f("period_end", "end", "date"),
            _f("amount", "target.amount", "decimal"),
            _f("currency", "target.currency"),
        ),
        corrupt=("target.amount", "bad"),
    ),
    Resource(
        "crm",
        "deals",
        "deals",
        (
            *_ID,
            _f("name", "title"),
            _f("contact", "contact_id"),
            _f("customer", "account_id"),
            _f("amount", "value", "decimal"),
            _f("currency", "currency_code"),
            _f("stage", "pipeline_stage"),
            _f("status", "outcome"),
            _f("created_at", "created", "datetime"),
            _f("closed_at", "closed", "datetime"),
            _f("rep", "owner_id"),
            _f("campaign", "source_campaign_id"),
        ),
        corrupt=("value", "bad"),
    ),
    # --- marketing automation: API key, pages ---------------------------------------------
    Resource(
        "marketing",
        "channels",
        "channels",
        (*_ID, _f("name", "label"), _f("is_paid", "paid", "bool")),
        corrupt=("label", "drop"),
    ),
    Resource(
        "marketing",
        "campaigns",
        "campaigns",
        (
            *_ID,
            _f("name", "title"),
            _f("channel", "channel_id"),
            _f("start_date", "starts_on", "date"),
            _f("end_date", "ends_on", "date"),
            _f("planned_budget", "budget.planned", "decimal"),
            _f("currency", "budget.currency"),
            _f("owner", "manager"),
        ),
        corrupt=("budget.planned", "bad"),
    ),
    Resource(
        "marketing",
        "spend",
        "campaign_spend",
        (
            *_ID,
            _f("campaign", "campaign_id"),
            _f("date", "day", "date"),
            _f("amount", "cost", "decimal"),
            _f("currency"),
        ),
        corrupt=("cost", "bad"),
    ),
    Resource(
        "marketing",
        "contacts",
        "contacts",
        (
            *_ID,
            _f("kind", "type"),
            _f("name", "display_name"),
            _f("company", "organization"),
            _f("account", "parent_id"),
            _f("first_seen_at", "created_at", "datetime"),
        ),
        corrupt=("type", "bad"),
    ),
    Resource(
        "marketing",
        "touchpoints",
        "touchpoints",
        (
            *_ID,
            _f("contact", "contact_id"),
            _f("campaign", "campaign_id"),
            _f("channel", "channel_id"),
            _f("occurred_at", "timestamp", "datetime"),
            _f("type", "event"),
        ),
        corrupt=("timestamp", "drop"),
    ),
    # --- billing: static bearer, cursor, integer cents ------------------------------------
    Resource(
        "billing",
        "customers",
        "customers",
        (
            *_ID,
            _f("name", "company_name"),
            _f("acquired_on", "since", "date"),
            _f("acquisition_channel", "channel_id"),
            _f("contact", "contact_id"),
            _f("segment", "metadata.segment"),
            _f("cs_owner", "metadata.success_manager"),
        ),
        extra=(("object", "customer"),),
        corrupt=("company_name", "drop"),
    ),
    Resource(
        "billing",
        "subscription-events",
        "subscription_events",
        (
            *_ID,
            _f("customer", "customer_id"),
            _f("occurred_on", "effective_date", "date"),
            _f("type", "event_type"),
            _f("mrr_after", "mrr_cents", "cents"),
            _f("currency"),
        ),
        extra=(("object", "subscription_event"),),
        corrupt=("mrr_cents", "bad"),
    ),
    # --- product tracking: API key, pages -------------------------------------------------
    Resource(
        "product",
        "initiatives",
        "initiatives",
        (
            *_ID,
            _f("name", "title"),
            _f("product", "product_area"),
            _f("owner", "lead"),
            _f("start_date", "start", "date"),
            _f("end_date", "end", "date"),
            _f("department", "cost_center_id"),
        ),
        corrupt=("title", "drop"),
    ),
    Resource(
        "product",
        "costs",
        "initiative_costs",
        (
            *_ID,
            _f("initiative", "initiative_id"),
            _f("date", "date", "date"),
            _f("kind", "cost_type"),
            _f("hours", "hours", "decimal"),
            _f("hourly_rate", "rate", "decimal"),
            _f("amount", "total", "decimal"),
            _f("currency"),
            _f("description", "note"),
        ),
        corrupt=("date", "drop"),
    ),
    Resource(
        "product",
        "benefits",
        "initiative_benefits",
        (
            *_ID,
            _f("initiative", "initiative_id"),
            _f("date", "date", "date"),
            _f("kind", "benefit_type"),
            _f("amount", "value", "decimal"),
            _f("currency"),
            _f("description", "note"),
        ),
        corrupt=("value", "bad"),
    ),
)

RESOURCE_MAP: dict[tuple[str, str], Resource] = {(r.system, r.name): r for r in RESOURCES}
SYSTEMS: tuple[str, ...] = ("erp", "budget", "crm", "marketing", "billing", "product")

#: Reconciliation fields per canonical entity: (date field, amount field), canonical names,
#: mirroring connectors/sync/reconcile.py RECONCILE_FIELDS.
RECONCILE_FIELDS: dict[str, tuple[str | None, str | None]] = {
    "gl_lines": ("posting_date", "amount"),
    "invoices": ("issue_date", "amount"),
    "budget_lines": ("month", "amount"),
    "campaign_spend": ("date", "amount"),
    "touchpoints": ("occurred_at", None),
    "deals": ("created_at", "amount"),
    "subscription_events": ("occurred_on", "mrr_after"),
    "initiative_costs": ("date", "amount"),
    "initiative_benefits": ("date", "amount"),
    "quotas": ("period_start", "amount"),
    "fx_rates": ("date", None),
}


def resources_of(system: str) -> list[Resource]:
    return [r for r in RESOURCES if r.system == system]


def format_datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC with microseconds and ``Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _wire(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "datetime":
        return format_datetime(value)
    if type_ == "date":
        return value.isoformat()
    if type_ == "decimal":
        return str(value)
    if type_ == "cents":
        return int((Decimal(value) * 100).to_integral_value())
    return value


def to_source(resource: Resource, row: dict) -> dict:
    """The source record for one canonical row."""
    out: dict[str, Any] = {}
    for f in resource.fields:
        value = _wire(row.get(f.canonical), f.type)
        head, _, rest = f.path.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = value
        else:
            out[head] = value
    for key, value in resource.extra:
        out[key] = value
    return out


def corrupt(resource: Resource, record: dict) -> dict:
    """A copy of the source record broken as the ``invalid_rows`` fault does; keeps ``id``."""
    record = {k: (dict(v) if isinstance(v, dict) else v) for k, v in record.items()}
    path, action = resource.corrupt
    head, _, rest = path.partition(".")
    target = record[head] if rest else record
    key = rest or head
    if action == "drop":
        target.pop(key, None)
    else:
        target[key] = "not-a-number" if key != "type" else "unknown-kind"
    return record
