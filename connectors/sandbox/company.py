"""The one seeded generator of FinHub's synthetic company.

It feeds the sandbox source (connectors/sandbox/server.py), the demo and the benchmarks:
``generate(seed=7, scale=1.0, end_month=...)`` returns the company's CANONICAL rows per
entity (the field names of records/ingestion/entities.py), covering the 24 months that end
with ``end_month``. Same arguments, same data: everything is drawn from one
``random.Random(seed)`` in a fixed order, and no value depends on the clock. Customer-success
owners and the product initiatives draw from their own streams seeded from ``seed``, so the
rest of the company does not shift when they change.

Rows use plain Python values: ids and references are external ids (strings), dates are
``datetime.date``, date-times are tz-aware UTC, money is ``Decimal`` with 2 places, and
every row has ``external_id`` and ``updated_at``. Optional text fields are ``""`` and
other absent values ``None``.

``updated_at`` imitates how real sources stamp changes: nightly batches (every GL line of
a day shares one stamp), values rounded to the minute or hour, and everything capped at
the end of ``end_month`` — so many rows share one ``updated_at``, which is what sync
engines get wrong across page boundaries.

Sizes at scale 1 (the demo): ~20k GL lines, ~20k touchpoints, ~4k contacts, ~1.5k deals,
~60k rows in all; the big entities grow linearly with ``scale``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import itertools
import math
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

UTC = dt.UTC
CENT = Decimal("0.01")

#: Entities in dependency order (a row only references entities listed before it).
ENTITY_ORDER: tuple[str, ...] = (
    "fx_rates",
    "departments",
    "accounts",
    "channels",
    "campaigns",
    "campaign_spend",
    "contacts",
    "touchpoints",
    "sales_teams",
    "sales_reps",
    "quotas",
    "customers",
    "deals",
    "subscription_events",
    "initiatives",
    "initiative_costs",
    "initiative_benefits",
    "invoices",
    "gl_lines",
    "budgets",
    "budget_lines",
)

DEPARTMENTS = (
    # code, name, parent code, headcount at scale 1 (None: cost follows the customer base,
    # see CS_SEGMENTS), payroll account
    ("GNA", "G&A", None, 5, "6400"),
    ("SAL", "Sales", None, 20, "6100"),
    ("MKT", "Marketing", None, 10, "6200"),
    ("ENG", "Engineering", None, 40, "6300"),
    ("PRD", "Product", None, 6, "6300"),
    ("CS", "Customer Success", None, None, "5100"),
    ("OPS", "Operations", None, 5, "6400"),
    ("FIN", "Finance", "GNA", 4, "6400"),
    ("PPL", "People", "GNA", 3, "6400"),
)

ACCOUNTS = (
    # code, name, type, is_sales_marketing
    ("1000", "Cash at bank", "asset", False),
    ("1200", "Accounts receivable", "asset", False),
    ("2000", "Accounts payable", "liability", False),
    ("2100", "Deferred revenue", "liability", False),
    ("3000", "Share capital", "equity", False),
    ("4000", "Subscription revenue", "revenue", False),
    ("4100", "Professional services revenue", "revenue", False),
    ("5000", "Hosting and infrastructure", "cost_of_sales", False),
    ("5100", "Customer support salaries", "cost_of_sales", False),
    ("6100", "Sales salaries", "expense", True),
    ("6110", "Sales commissions", "expense", True),
    ("6200", "Marketing salaries", "expense", True),
    ("6210", "Paid advertising", "expense", True),
    ("6220", "Events and sponsorships", "expense", True),
    ("6230", "Marketing software", "expense", True),
    ("6300", "R&D salaries", "expense", False),
    ("6310", "R&D contractors", "expense", False),
    ("6320", "Developer tools", "expense", False),
    ("6400", "G&A salaries", "expense", False),
    ("6410", "Rent and facilities", "expense", False),
    ("6420", "Legal and professional fees", "expense", False),
    ("6430", "Travel", "expense", False),
    ("6440", "Software subscriptions", "expense", False),
)

# Vendor bills: which accounts each department books its day-to-day costs on.
VENDOR_ACCOUNTS = {
    "SAL": ("6430", "6440", "6430"),
    "MKT": ("6220", "6230", "6430"),
    "ENG": ("6320", "6440", "6430"),
    "PRD": ("6440", "6430"),
    "GNA": ("6420", "6440", "6430"),
    "OPS": ("5000", "6440"),
    "FIN": ("6420", "6440"),
    "PPL": ("6440", "6430"),
}
# Customer Success has no vendor bills: its whole cost follows the customer base (CS_SEGMENTS).
VENDOR_WEIGHTS = {"SAL": 4, "MKT": 4, "ENG": 5, "PRD": 1, "GNA": 2, "OPS": 3, "FIN": 1, "PPL": 1}
VENDORS = (
    "Northwind Supplies",
    "Contoso Cloud",
    "Globex Travel",
    "Initech Software",
    "Umbrella Legal",
    "Stark Office",
    "Wayne Events",
    "Acme Tools",
    "Hooli Services",
    "Vandelay Imports",
)

CHANNELS = (
    # id suffix, name, is_paid
    ("PSE", "Paid Search", True),
    ("PSO", "Paid Social", True),
    ("DSP", "Display", True),
    ("EVT", "Events", True),
    ("ORG", "Organic Search", False),
    ("EML", "Email", False),
    ("REF", "Referral", False),
    ("DIR", "Direct", False),
)
CAMPAIGN_CHANNELS = ("PSE", "PSE", "PSO", "PSO", "DSP", "EVT", "EML")
CAMPAIGN_ACCOUNT = {"PSE": "6210", "PSO": "6210", "DSP": "6210", "EVT": "6220", "EML": "6230"}
ORGANIC_CHANNELS = ("ORG", "ORG", "EML", "REF", "DIR", "DIR")
CAMPAIGN_THEMES = (
    "Spring Launch",
    "Finance Leaders",
    "CFO Summit",
    "Brand Awareness",
    "Retargeting",
    "Webinar Series",
    "Product Hunt",
    "Partner Push",
    "Year-End Push",
    "Competitor Switch",
    "Free Trial",
    "Newsletter",
)

TOUCH_TYPES = ("impression", "click", "visit", "email_open", "form", "meeting", "other")
TOUCH_WEIGHTS = (20, 30, 20, 10, 10, 5, 5)

TEAMS = (
    ("NBNA", "New Business NA"),
    ("NBEU", "New Business EMEA"),
    ("MM", "Mid-Market"),
    ("ENT", "Enterprise"),
)
OPEN_STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation")
TIERS = (
    # name, weight, MRR range in whole currency units
    ("Starter", 60, 300, 900),
    ("Growth", 30, 1000, 4000),
    ("Enterprise", 10, 5000, 20000),
)
#: The billing system's customer segment per plan tier: many SMB, fewer Mid-market, few
#: Enterprise (with the larger MRR).
SEGMENT_OF_TIER = {"Starter": "SMB", "Growth": "Mid-market", "Enterprise": "Enterprise"}

#: Customer Success, per segment: customers one CS manager looks after, a CS manager's monthly
#: salary and the CS tools per customer and month (cents). The CS department's GL lines are
#: these times the segment's live customers each month, so its cost follows the customer base.
CS_SEGMENTS = (
    ("SMB", 60, 5_500_00, 20_00),
    ("Mid-market", 20, 7_000_00, 45_00),
    ("Enterprise", 6, 9_500_00, 120_00),
)
CS_OWNERS = {
    "SMB": ("Noor Haddad", "Tomas Rivera", "Emma Lindqvist"),
    "Mid-market": ("Kwame Mensah", "Yuki Tanaka"),
    "Enterprise": ("Priya Raman", "Oliver Grant"),
}

#: The product tracking system's initiatives, by design so the demo shows every case:
#: name, product, cost center, first month (index in the 24), months of build, benefit kind
#: (None: still being built), benefit over cost at FinHub's default 80% gross margin over the
#: history (>= 1.5 paid back, <= 0.6 not; each month's benefit varies by +-15%).
INITIATIVES = (
    ("Self-serve onboarding", "Core platform", "PRD", 0, 4, "retention", "3.0"),
    ("Forecasting engine", "Analytics", "ENG", 2, 6, "revenue", "1.5"),
    ("SSO and SCIM", "Core platform", "ENG", 4, 3, "revenue", "2.2"),
    ("Mobile approvals", "Mobile", "ENG", 6, 5, "retention", "0.35"),
    ("Data warehouse sync", "Integrations", "ENG", 8, 4, "retention", "0.6"),
    ("Usage-based billing", "Core platform", "PRD", 11, 6, "revenue", "0.5"),
    ("Audit trail", "Core platform", "ENG", 14, 2, "retention", "1.8"),
    ("Dashboard builder", "Analytics", "PRD", 18, 8, None, "0"),
)
GROSS_MARGIN = Decimal("0.8")  # FinHub's default (docs/metrics.md)
#: The one month a source sends the same money both ways (a GL-kind initiative cost AND the
#: GL line tagged with the initiative): (initiative index, month of its build).
DOUBLE_COUNTED = (1, 2)

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
    "Tim", "Radia", "Guido", "Katherine", "John", "Hedy", "Edsger", "Sophie", "Niklaus",
    "Anita", "Donald", "Lynn", "Bjarne", "Adele", "James",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Berners-Lee", "Perlman", "van Rossum", "Johnson", "McCarthy", "Lamarr",
    "Dijkstra", "Wilson", "Wirth", "Borg", "Knuth", "Conway", "Stroustrup", "Goldberg",
    "Gosling",
)  # fmt: skip
COMPANY_WORDS = (
    "Blue", "North", "Bright", "Iron", "Silver", "Green", "Rapid", "Summit", "Harbor", "Pixel",
    "Quantum", "Cedar", "Atlas", "Nova", "Vertex", "Orbit", "Lumen", "Beacon", "Falcon",
    "Granite",
)  # fmt: skip
COMPANY_SUFFIXES = ("Labs", "Systems", "Analytics", "Logistics", "Health", "Retail", "Works",
                    "Partners", "Foods", "Energy", "Media", "Bank")  # fmt: skip


@dataclass
class Company:
    """The generated company: canonical rows per entity, in dependency order."""

    seed: int
    scale: float
    start_month: dt.date
    end_month: dt.date
    reporting_currency: str
    entities: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def period_end(self) -> dt.date:
        return _month_end(self.end_month)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.entities.items()}

    def total_rows(self) -> int:
        return sum(len(rows) for rows in self.entities.values())


# --- small helpers -------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(month: dt.date) -> dt.date:
    return _add_months(month, 1) - dt.timedelta(days=1)


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _at(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def default_end_month(today: dt.date | None = None) -> dt.date:
    """The last complete month: the data runs to its end, so nothing is dated in the future
    (finance reads closed months anyway)."""
    today = today or dt.datetime.now(UTC).date()
    return _add_months(today.replace(day=1), -1)


def reporting_currency_default() -> str:
    """FINHUB_REPORTING_CURRENCY from the environment, where FinHub's settings read it too
    (the sandbox runs without Django)."""
    return os.environ.get("FINHUB_REPORTING_CURRENCY", "USD").upper()


class _Gen:
    """One generation run: the RNG, the calendar and the rows built so far."""

    def __init__(self, *, seed: int, scale: float, end_month: dt.date, currency: str):
        if scale <= 0:
            raise ValueError("scale must be greater than 0")
        self.rng = random.Random(seed)
        self.cs_rng = random.Random(f"{seed}:customer-success")
        self.product_rng = random.Random(f"{seed}:product")
        self.scale = scale
        self.end_month = end_month.replace(day=1)
        self.start_month = _add_months(self.end_month, -23)
        self.first_day = self.start_month
        self.last_day = _month_end(self.end_month)
        self.days = (self.last_day - self.first_day).days + 1
        self.cap = _at(self.last_day, 23, 59)  # no updated_at after this
        self.window_start_at = _at(self.first_day)
        self.currency = currency
        self.foreign = tuple(c for c in ("EUR", "GBP", "USD") if c != currency)[:2]
        self.months = [_add_months(self.start_month, i) for i in range(24)]
        self.day_list = [self.first_day + dt.timedelta(days=i) for i in range(self.days)]
        self.e: dict[str, list[dict]] = {name: [] for name in ENTITY_ORDER}
        self.fx_avg: dict[str, Decimal] = {}

    # scaled counts: linear for the big entities, gentler for the small ones
    def n(self, base: float, minimum: int = 1) -> int:
        return max(minimum, round(base * self.scale))

    def n_sqrt(self, base: float, minimum: int = 1) -> int:
        return max(minimum, round(base * math.sqrt(max(self.scale, 1.0))))

    def stamp(self, value: dt.datetime) -> dt.datetime:
        return value if value < self.cap else self.cap

    def pick_currency(self) -> str:
        r = self.rng.random()
        if r < 0.05:
            return self.foreign[0]
        if r < 0.10:
            return self.foreign[1]
        return self.currency

    def pick(self, seq):
        """rng.choice, faster (no rejection sampling); deterministic all the same."""
        return seq[int(self.rng.random() * len(seq))]

    def day(self, offset: int) -> dt.date:
        return self.first_day + dt.timedelta(days=offset)

    def person_name(self) -> str:
        return f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}"

    @staticmethod
    def person_name_from(rng: random.Random) -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    def company_name(self) -> str:
        first, second = self.pick(COMPANY_WORDS), self.pick(COMPANY_WORDS)
        return f"{first} {second} {self.pick(COMPANY_SUFFIXES)}"

    # --- reference data ---------------------------------------------------------------------

    def fx_rates(self) -> None:
        rows = self.e["fx_rates"]
        start = {"EUR": 1.08, "GBP": 1.27, "USD": 1.0}
        for code in self.foreign:
            # Units of the reporting currency for 1 unit of ``code``.
            rate = start[code] / start.get(self.currency, 1.0)
            total = Decimal(0)
            for i in range(self.days):
                rate *= 1 + self.rng.gauss(0, 0.004)
                day = self.day(i)
                value = Decimal(f"{rate:.6f}")
                total += value
                rows.append(
                    {
                        "external_id": f"FX-{code}-{day:%Y%m%d}",
                        "updated_at": self.stamp(_at(day + dt.timedelta(days=1), 0, 5)),
                        "currency": code,
                        "quote_currency": self.currency,
                        "date": day,
                        "rate": value,
                    }
                )
            self.fx_avg[code] = total / self.days
        self.fx_avg[self.currency] = Decimal(1)

    def departments(self) -> None:
        for code, name, parent, _head, _acct in DEPARTMENTS:
            self.e["departments"].append(
                {
                    "external_id": f"DEP-{code}",
                    "updated_at": self.window_start_at,
                    "name": name,
                    "code": code,
                    "parent": f"DEP-{parent}" if parent else None,
                }
            )

    def accounts(self) -> None:
        for code, name, type_, sm in ACCOUNTS:
            self.e["accounts"].append(
                {
                    "external_id": f"ACC-{code}",
                    "updated_at": self.window_start_at,
                    "code": code,
                    "name": name,
                    "type": type_,
                    "is_sales_marketing": sm,
                }
            )

    def channels(self) -> None:
        for code, name, paid in CHANNELS:
            self.e["channels"].append(
                {
                    "external_id": f"CH-{code}",
                    "updated_at": self.window_start_at,
                    "name": name,
                    "is_paid": paid,
                }
            )

    # --- marketing ------------------------------------------------------------------------

    def campaigns(self) -> None:
        rng = self.rng
        n = self.n_sqrt(30, minimum=8)
        self.active_by_day: list[list[dict]] = [[] for _ in range(self.days)]
        self.spend_by_campaign_week: dict[tuple[str, dt.date], list] = {}
        for i in range(n):
            channel = rng.choice(CAMPAIGN_CHANNELS)
            length = rng.randint(21, 150)
            start_off = rng.randrange(0, max(1, self.days - 14))
            end_off = min(self.days - 1, start_off + length - 1)
            start, end = self.day(start_off), self.day(end_off)
            currency = self.pick_currency()
            daily = rng.randint(80, 900) * 100  # cents per day
            planned = daily * (end_off - start_off + 1) * rng.randint(90, 120) // 100
            theme = CAMPAIGN_THEMES[i % len(CAMPAIGN_THEMES)]
            row = {
                "external_id": f"CMP-{i + 1:04d}",
                "updated_at": self.stamp(
                    max(self.window_start_at, _at(start - dt.timedelta(days=7), 9))
                ),
                "name": f"{theme} {start:%Y-%m} ({dict((c, n) for c, n, _ in CHANNELS)[channel]})",
                "channel": f"CH-{channel}",
                "start_date": start,
                "end_date": end,
                "planned_budget": _money(planned),
                "currency": currency,
                "owner": self.person_name(),
            }
            self.e["campaigns"].append(row)
            for off in range(start_off, end_off + 1):
                self.active_by_day[off].append(row)
            # daily spend
            week_totals: dict[dt.date, int] = defaultdict(int)
            for off in range(start_off, end_off + 1):
                day = self.day(off)
                cents = max(100, int(daily * rng.uniform(0.6, 1.4)))
                self.e["campaign_spend"].append(
                    {
                        "external_id": f"SP-{row['external_id'][4:]}-{day:%Y%m%d}",
                        "updated_at": self.stamp(_at(day + dt.timedelta(days=1), 6)),
                        "campaign": row["external_id"],
                        "date": day,
                        "amount": _money(cents),
                        "currency": currency,
                    }
                )
                # the ERP books the spend weekly (week ending Sunday, or the campaign's end)
                week_end = min(day + dt.timedelta(days=6 - day.weekday()), end, self.last_day)
                week_totals[week_end] += cents
            for week_end, cents in week_totals.items():
                self.spend_by_campaign_week[(row["external_id"], week_end)] = [
                    cents,
                    currency,
                    CAMPAIGN_ACCOUNT[channel],
                ]

    def contacts_and_touchpoints(self) -> None:
        rng = self.rng
        n_contacts = self.n(4000, minimum=20)
        n_accounts = max(2, n_contacts // 8)
        n_people = n_contacts - n_accounts
        contacts = self.e["contacts"]
        last_offset = max(1, self.days - 30)
        accounts = []
        for i in range(n_accounts):
            seen = _at(self.day(rng.randrange(last_offset))) + dt.timedelta(
                seconds=rng.randrange(86400)
            )
            name = self.company_name()
            row = {
                "external_id": f"CT-A{i + 1:07d}",
                "updated_at": self.stamp(
                    seen.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
                ),
                "kind": "account",
                "name": name,
                "company": name,
                "account": None,
                "first_seen_at": seen,
            }
            accounts.append(row)
            contacts.append(row)
        people = []
        for i in range(n_people):
            seen = _at(self.day_list[int(rng.random() * last_offset)]) + dt.timedelta(
                seconds=int(rng.random() * 86400)
            )
            if rng.random() < 0.5:
                account = self.pick(accounts)
                company, account_id = account["company"], account["external_id"]
            else:
                company, account_id = self.company_name(), None
            row = {
                "external_id": f"CT-P{i + 1:07d}",
                "updated_at": self.stamp(
                    seen.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
                ),
                "kind": "person",
                "name": self.person_name(),
                "company": company,
                "account": account_id,
                "first_seen_at": seen,
            }
            people.append(row)
            contacts.append(row)
        self.people = people

        # Touchpoints: spread over the people, each within 120 days after first seen.
        n_touch = self.n(20000, minimum=50)
        per_person = [0] * n_people
        rand = rng.random
        for _ in range(n_touch):
            per_person[int(rand() * n_people)] += 1
        touch_rows = self.e["touchpoints"]
        self.journeys: list[list[dict]] = []
        cap = self.cap
        seq = 0
        touch_cum = list(itertools.accumulate(TOUCH_WEIGHTS))
        touch_total = touch_cum[-1]
        organic = [f"CH-{code}" for code in ORGANIC_CHANNELS]
        active_by_day, days = self.active_by_day, self.days
        hour_stamps: dict[int, dt.datetime] = {}  # shared objects: less memory, real ties
        epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
        cap_secs = int((cap - epoch).total_seconds())
        first_day_secs = int((_at(self.first_day) - epoch).total_seconds())
        second = dt.timedelta(seconds=1)
        for person, count in zip(people, per_person, strict=True):
            journey = []
            base = person["first_seen_at"]
            base_secs = int((base - epoch).total_seconds())
            offsets = sorted(int(rand() * 120 * 86400) for _ in range(count))
            for k, secs in enumerate(offsets):
                at = base_secs + secs if k else base_secs
                if at > cap_secs:
                    at = cap_secs - 1 - int(rand() * 86399)
                when = epoch + at * second
                day_index = (at - first_day_secs) // 86400
                active = active_by_day[day_index] if 0 <= day_index < days else ()
                if active and rand() < 0.65:
                    campaign = active[int(rand() * len(active))]
                    campaign_id, channel_id = campaign["external_id"], campaign["channel"]
                else:
                    campaign_id, channel_id = None, organic[int(rand() * len(organic))]
                seq += 1
                # the marketing tool exports hourly: every touch of the hour shares a stamp
                hour = min(at // 3600 + 1, cap_secs // 3600)
                stamp = hour_stamps.get(hour)
                if stamp is None:
                    stamp = hour_stamps[hour] = epoch + hour * 3600 * second
                row = {
                    "external_id": f"TP-{seq:08d}",
                    "updated_at": stamp,
                    "contact": person["external_id"],
                    "campaign": campaign_id,
                    "channel": channel_id,
                    "occurred_at": when,
                    "type": TOUCH_TYPES[bisect.bisect(touch_cum, rand() * touch_total)],
                }
                journey.append(row)
                touch_rows.append(row)
            self.journeys.append(journey)

    # --- sales ----------------------------------------------------------------------------

    def sales_org(self) -> None:
        rng = self.rng
        for code, name in TEAMS:
            self.e["sales_teams"].append(
                {"external_id": f"TEAM-{code}", "updated_at": self.window_start_at, "name": name}
            )
        n_reps = self.n_sqrt(16, minimum=4)
        self.reps = []
        for i in range(n_reps):
            team_code = TEAMS[i % len(TEAMS)][0]
            active = rng.random() > 0.1
            row = {
                "external_id": f"REP-{i + 1:04d}",
                "updated_at": self.window_start_at,
                "name": self.person_name(),
                "team": f"TEAM-{team_code}",
                "active": active,
            }
            self.e["sales_reps"].append(row)
            self.reps.append(row)
        quarters = []
        q = dt.date(self.start_month.year, (self.start_month.month - 1) // 3 * 3 + 1, 1)
        while q <= self.end_month:
            quarters.append(q)
            q = _add_months(q, 3)
        for rep in self.reps:
            currency = self.foreign[0] if rep["team"] == "TEAM-NBEU" else self.currency
            for q in quarters:
                target = rng.randint(6, 14) * 10_000_00  # ~ what a rep closes a quarter
                self.e["quotas"].append(
                    {
                        "external_id": f"Q-{rep['external_id'][4:]}-{q:%Y%m}",
                        "updated_at": self.stamp(
                            max(self.window_start_at, _at(q - dt.timedelta(days=14), 9))
                        ),
                        "rep": rep["external_id"],
                        "period_start": q,
                        "period_end": _month_end(_add_months(q, 2)),
                        "amount": _money(target),
                        "currency": currency,
                    }
                )

    def deals_and_customers(self) -> None:
        rng = self.rng
        n_deals = self.n(1500, minimum=10)
        candidates = [i for i, j in enumerate(self.journeys) if j]
        if n_deals <= len(candidates):
            chosen = rng.sample(candidates, n_deals)
        else:
            chosen = [rng.choice(candidates) for _ in range(n_deals)]
        chosen.sort()
        cap = self.cap
        tier_weights = [t[1] for t in TIERS]
        self.won: list[tuple[dict, dict, int]] = []  # (deal, customer, mrr cents)
        deals, customers = self.e["deals"], self.e["customers"]
        for n, person_index in enumerate(chosen, start=1):
            person = self.people[person_index]
            journey = self.journeys[person_index]
            k = rng.randrange(len(journey))
            created = journey[k]["occurred_at"] + dt.timedelta(hours=rng.randint(1, 72))
            if created > cap - dt.timedelta(hours=2):
                created = cap - dt.timedelta(hours=2)
            created = created.replace(microsecond=0)
            closed = created + dt.timedelta(days=rng.randint(14, 120), hours=rng.randint(0, 8))
            if closed >= cap:
                status, closed, stage = "open", None, rng.choice(OPEN_STAGES)
            elif rng.random() < 0.35:
                status, stage = "won", "Closed Won"
            else:
                status, stage = "lost", "Closed Lost"
            tier, _w, low, high = rng.choices(TIERS, tier_weights)[0]
            mrr = rng.randint(low, high) * 100
            currency = self.pick_currency()
            campaign = None
            for touch in reversed(journey[: k + 1]):
                if touch["campaign"]:
                    campaign = touch["campaign"]
                    break
            changed = closed or created
            stamp = (changed + dt.timedelta(hours=1)).replace(minute=0, second=0)
            deal = {
                "external_id": f"DEAL-{n:07d}",
                "updated_at": stamp if stamp < cap else cap,
                "name": f"{person['company']} - {tier} plan",
                "contact": person["external_id"],
                "customer": None,
                "amount": _money(mrr * 12),
                "currency": currency,
                "stage": stage,
                "status": status,
                "created_at": created,
                "closed_at": closed,
                "rep": rng.choice(self.reps)["external_id"],
                "campaign": campaign,
            }
            deals.append(deal)
            if status == "won":
                acquired = closed.date()
                segment = SEGMENT_OF_TIER[tier]
                customer = {
                    "external_id": f"CUS-{len(customers) + 1:07d}",
                    "updated_at": self.stamp(_at(acquired + dt.timedelta(days=1), 3)),
                    "name": person["company"],
                    "acquired_on": acquired,
                    "acquisition_channel": journey[0]["channel"],
                    "contact": person["external_id"],
                    "segment": segment,
                    "cs_owner": self.cs_rng.choice(CS_OWNERS[segment]),
                }
                customers.append(customer)
                deal["customer"] = customer["external_id"]
                self.won.append((deal, customer, mrr))

    def subscriptions(self) -> None:
        rng = self.rng
        events = self.e["subscription_events"]
        self.mrr_history: dict[str, list[tuple[dt.date, int]]] = {}
        seq = 0
        for deal, customer, mrr in self.won:
            currency = deal["currency"]
            day = customer["acquired_on"]
            history = [(day, mrr)]
            todo = [(day, "new", mrr)]
            month = _add_months(day.replace(day=1), 1)
            current = mrr
            while month <= self.end_month:
                r = rng.random()
                kind = None
                if current > 0:
                    if r < 0.015:
                        kind, current = "churn", 0
                    elif r < 0.045:
                        kind, current = "expansion", current * rng.randint(110, 150) // 100
                    elif r < 0.06:
                        kind, current = "contraction", current * rng.randint(60, 90) // 100
                elif r < 0.05:
                    kind, current = "reactivation", mrr
                if kind:
                    when = month + dt.timedelta(days=rng.randrange(_month_end(month).day))
                    todo.append((when, kind, current))
                    history.append((when, current))
                month = _add_months(month, 1)
            for when, kind, value in todo:
                seq += 1
                events.append(
                    {
                        "external_id": f"SUB-{seq:08d}",
                        "updated_at": self.stamp(_at(when + dt.timedelta(days=1), 3)),
                        "customer": customer["external_id"],
                        "occurred_on": when,
                        "type": kind,
                        "mrr_after": _money(value),
                        "currency": currency,
                    }
                )
            self.mrr_history[customer["external_id"]] = history

    # --- product --------------------------------------------------------------------------

    def initiatives(self) -> None:
        """INITIATIVES with their costs: contractor invoices booked in the ERP's GL and
        tagged with the initiative (gl_lines), time entries x rate and other costs in the
        product tool; then the revenue / retained MRR credited each month after launch."""
        rng = self.product_rng
        self.initiative_rows = []
        self.initiative_gl: list[tuple[dict, dt.date, int, str]] = []
        costs, benefits = self.e["initiative_costs"], self.e["initiative_benefits"]
        cseq = bseq = 0
        currency = self.currency

        def add_cost(ini: dict, day: dt.date, kind: str, cents: int, **values) -> None:
            nonlocal cseq
            cseq += 1
            costs.append(
                self.initiative_entry(
                    f"IC-{cseq:07d}",
                    ini,
                    day,
                    kind,
                    **{"hours": None, "hourly_rate": None, **values},
                    amount=_money(cents),
                    currency=currency,
                )
            )

        for i, (name, product, dept, first, build, benefit_kind, multiple) in enumerate(
            INITIATIVES
        ):
            first_month = self.months[first]
            start = first_month + dt.timedelta(days=rng.randrange(10))
            launch = _month_end(_add_months(first_month, build - 1))
            ini = {
                "external_id": f"INI-{i + 1:04d}",
                "updated_at": self.stamp(_at(start, 9)),
                "name": name,
                "product": product,
                "owner": self.person_name_from(rng),
                "start_date": start,
                "end_date": launch,
                "department": f"DEP-{dept}",
            }
            self.e["initiatives"].append(ini)
            self.initiative_rows.append(ini)
            total = 0  # cents, every cost of the initiative (tagged GL lines included)
            for b in range(build):
                month = _add_months(first_month, b)
                if month > self.end_month:
                    break  # still being built when the history ends
                lo = max(month, start)
                span = (_month_end(month) - lo).days + 1
                # contractor invoices: booked in the ERP's GL, tagged with the initiative
                for _ in range(rng.randint(1, 2)):
                    day = lo + dt.timedelta(days=rng.randrange(span))
                    cents = rng.randint(6_000, 15_000) * 100
                    self.initiative_gl.append((ini, day, cents, currency))
                    total += cents
                    if (i, b) == DOUBLE_COUNTED:
                        # the product tool records that same invoice as a GL cost too
                        add_cost(
                            ini, day, "gl", cents, description="Contractor invoice (from the GL)"
                        )
                        total += cents
                # time entries x rate
                for _ in range(rng.randint(2, 4)):
                    day = lo + dt.timedelta(days=rng.randrange(span))
                    hours = Decimal(rng.randint(40, 320)) / 2
                    rate = Decimal(rng.randint(70, 140))
                    cents = int((hours * rate * 100).to_integral_value(rounding=ROUND_HALF_UP))
                    total += cents
                    add_cost(
                        ini,
                        day,
                        "time",
                        cents,
                        hours=hours.quantize(CENT),
                        hourly_rate=rate.quantize(CENT),
                        description=f"Time entries of {self.person_name_from(rng)}",
                    )
                if rng.random() < 0.25:
                    day = lo + dt.timedelta(days=rng.randrange(span))
                    cents = rng.randint(500, 3_000) * 100
                    total += cents
                    add_cost(ini, day, "other", cents, description="Licences and tooling")
            if benefit_kind is None:
                continue
            # benefits each month after launch, sized so that over the history benefit x
            # gross margin is about ``multiple`` x cost
            months = [m for m in self.months if m > launch]
            monthly = Decimal(multiple) * total / GROSS_MARGIN / len(months)
            for month in months:
                day = month + dt.timedelta(days=rng.randrange(28))
                cents = int(monthly * Decimal(rng.randint(85, 115)) / 100)
                bseq += 1
                benefits.append(
                    self.initiative_entry(
                        f"IB-{bseq:07d}",
                        ini,
                        day,
                        benefit_kind,
                        amount=_money(cents),
                        currency=currency,
                        description="Upsell revenue credited"
                        if benefit_kind == "revenue"
                        else "MRR retained (churn avoided)",
                    )
                )

    def initiative_entry(self, external_id: str, ini: dict, day: dt.date, kind: str, **values):
        """A cost or benefit of initiative ``ini`` on ``day``, last changed the day after."""
        return {
            "external_id": external_id,
            "updated_at": self.stamp(_at(day + dt.timedelta(days=1), 4)),
            "initiative": ini["external_id"],
            "date": day,
            "kind": kind,
            **values,
        }

    # --- finance --------------------------------------------------------------------------

    def invoices(self) -> None:
        rng = self.rng
        invoices = self.e["invoices"]
        seq = 0
        self.invoice_rows: list[dict] = []
        open_after = self.last_day - dt.timedelta(days=45)

        def add(customer, deal, issue, cents, currency):
            nonlocal seq
            seq += 1
            due = issue + dt.timedelta(days=30)
            paid = issue < open_after
            updated = _at(min(due, self.last_day) if paid else issue + dt.timedelta(days=1), 2)
            row = {
                "external_id": f"INV-{seq:07d}",
                "updated_at": self.stamp(updated),
                "number": f"INV-{issue.year}-{seq:06d}",
                "customer": customer["external_id"],
                "deal": deal["external_id"] if deal else None,
                "issue_date": issue,
                "due_date": due,
                "amount": _money(cents),
                "currency": currency,
                "status": "paid" if paid else "open",
            }
            invoices.append(row)
            self.invoice_rows.append(row)

        for deal, customer, mrr in self.won:
            cents = mrr * 12
            if rng.random() < 0.02:  # a deliberate ERP/CRM mismatch
                cents = cents * rng.choice((90, 95, 97, 103, 105, 110)) // 100
            issue = min(
                customer["acquired_on"] + dt.timedelta(days=rng.randint(0, 2)), self.last_day
            )
            add(customer, deal, issue, cents, deal["currency"])
            # yearly renewals at the current MRR
            history = self.mrr_history[customer["external_id"]]
            anniversary = customer["acquired_on"].replace(day=min(customer["acquired_on"].day, 28))
            years = 1
            while True:
                renew = anniversary.replace(year=anniversary.year + years)
                if renew > self.last_day:
                    break
                current = 0
                for when, value in history:
                    if when <= renew:
                        current = value
                if current > 0:
                    add(customer, None, renew, current * 12, deal["currency"])
                years += 1

    def gl_lines(self) -> None:
        rng = self.rng
        lines = self.e["gl_lines"]
        seq = 0
        cap = self.cap

        stamps: dict[dt.date, dt.datetime] = {}  # nightly batch: one stamp per posting day

        def add(account, dept, day, cents, currency, description, **refs):
            nonlocal seq
            seq += 1
            stamp = stamps.get(day)
            if stamp is None:
                stamp = stamps[day] = min(_at(day + dt.timedelta(days=1), 2), cap)
            lines.append(
                {
                    "external_id": f"GL-{seq:08d}",
                    "updated_at": stamp,
                    "account": f"ACC-{account}",
                    "department": f"DEP-{dept}" if dept else None,
                    "posting_date": day,
                    "amount": _money(cents),
                    "currency": currency,
                    "description": description,
                    "campaign": refs.get("campaign"),
                    "initiative": refs.get("initiative"),
                    "customer": refs.get("customer"),
                }
            )

        # Revenue: one line per invoice, plus occasional professional services.
        for inv in self.invoice_rows:
            add(
                "4000",
                None,
                inv["issue_date"],
                int(inv["amount"] * 100),
                inv["currency"],
                f"Invoice {inv['number']}",
                customer=inv["customer"],
            )
            if rng.random() < 0.15:
                # no department: the Customer Success department carries only CS cost
                add(
                    "4100",
                    None,
                    inv["issue_date"],
                    rng.randint(20, 150) * 10_000,
                    inv["currency"],
                    f"Onboarding services {inv['number']}",
                    customer=inv["customer"],
                )
        # Sales commissions: 10% of won deals, the month after the close.
        for deal, _customer, mrr in self.won:
            day = _month_end(_add_months(deal["closed_at"].date().replace(day=1), 1))
            if day <= self.last_day:
                add(
                    "6110",
                    "SAL",
                    day,
                    mrr * 12 // 10,
                    deal["currency"],
                    f"Commission {deal['external_id']}",
                )
        # Payroll: one line per employee and month, on the last day of the month.
        for code, _name, _parent, headcount, account in DEPARTMENTS:
            if headcount is None:
                continue  # Customer Success: below
            staff = [
                (
                    rng.randint(5_000, 12_000) * 100,
                    self.foreign[0] if rng.random() < 0.1 else self.currency,
                )
                for _ in range(self.n(headcount))
            ]
            for month in self.months:
                for e, (salary, currency) in enumerate(staff, start=1):
                    add(
                        account,
                        code,
                        _month_end(month),
                        salary,
                        currency,
                        f"Payroll employee {code}-{e:04d}",
                    )
        # Customer Success: salaries and tools per segment, following its live customers.
        for month, segment, customers, account, cents, what in self.cs_costs():
            add(
                account,
                "CS",
                _month_end(month),
                cents,
                self.currency,
                f"CS {what}, {segment} segment ({customers} customers)",
            )
        # Rent.
        for month in self.months:
            add("6410", "GNA", month, self.n(25_000_00), self.currency, "Office rent")
        # Campaign spend booked weekly against the campaign.
        for (campaign_id, week_end), (
            cents,
            currency,
            account,
        ) in self.spend_by_campaign_week.items():
            add(
                account,
                "MKT",
                week_end,
                cents,
                currency,
                f"Media invoice {campaign_id}",
                campaign=campaign_id,
            )
        # Initiative contractors.
        for ini, day, cents, currency in self.initiative_gl:
            add(
                "6310",
                ini["department"][4:],
                day,
                cents,
                currency,
                f"Contractor for {ini['name']}",
                initiative=ini["external_id"],
            )
        # Hosting.
        for _ in range(self.n(730)):
            day = self.day(rng.randrange(self.days))
            add("5000", "OPS", day, rng.randint(500, 4_000) * 100, self.currency, "Cloud hosting")
        # Vendor bills fill up to the target size.
        target = self.n(20_000, minimum=100)
        depts = list(VENDOR_WEIGHTS)
        dept_cum = list(itertools.accumulate(VENDOR_WEIGHTS.values()))
        for _ in range(max(0, target - len(lines))):
            dept = depts[bisect.bisect(dept_cum, rng.random() * dept_cum[-1])]
            account = self.pick(VENDOR_ACCOUNTS[dept])
            cents = int(math.exp(rng.uniform(math.log(3_000), math.log(500_000))))
            description = f"Bill {self.pick(VENDORS)}"
            if rng.random() < 0.02:
                cents, description = -cents, f"Credit note {rng.choice(VENDORS)}"
            add(
                account,
                dept,
                self.day_list[int(rng.random() * self.days)],
                cents,
                self.pick_currency(),
                description,
            )

    def cs_costs(self) -> list[tuple[dt.date, str, int, str, int, str]]:
        """(month, segment, live customers at its end, account, cents, what) of each CS line:
        CS_SEGMENTS' cost per CS manager and per customer times the segment's customers with
        MRR > 0 at the month's end (none, no line)."""
        segment_of = {c["external_id"]: c["segment"] for c in self.e["customers"]}
        live: dict[tuple[dt.date, str], int] = defaultdict(int)
        for customer, history in self.mrr_history.items():
            for month in self.months:
                month_end = _month_end(month)
                mrr = 0
                for when, value in history:
                    if when > month_end:
                        break
                    mrr = value
                if mrr > 0:
                    live[(month, segment_of[customer])] += 1
        out = []
        for month in self.months:
            for segment, per_manager, salary, tools in CS_SEGMENTS:
                n = live.get((month, segment), 0)
                if n:
                    # salary x (customers / customers per manager), rounded half up to a cent
                    salaries = (n * salary * 2 + per_manager) // (2 * per_manager)
                    out.append((month, segment, n, "5100", salaries, "salaries"))
                    out.append((month, segment, n, "6440", n * tools, "tools"))
        return out

    def budgets(self) -> None:
        rng = self.rng
        # Actuals per (account, department, month) in the reporting currency (avg rate).
        actual: dict[tuple[str, str | None], dict[dt.date, Decimal]] = defaultdict(
            lambda: defaultdict(Decimal)
        )
        for line in self.e["gl_lines"]:
            key = (line["account"], line["department"])
            actual[key][line["posting_date"].replace(day=1)] += (
                line["amount"] * self.fx_avg[line["currency"]]
            )
        budgets, lines = self.e["budgets"], self.e["budget_lines"]
        seq = 0
        for year in range(self.start_month.year, self.end_month.year + 1):
            for version, name, made, spread in (
                (0, f"FY{year} Budget", _at(dt.date(year - 1, 12, 15), 9), 0.15),
                (1, f"FY{year} Reforecast", _at(dt.date(year, 6, 30), 9), 0.05),
            ):
                stamp = self.stamp(made)
                budget = {
                    "external_id": f"BUD-{year}-V{version}",
                    "updated_at": stamp,
                    "name": name,
                    "fiscal_year": year,
                    "version": version,
                    "is_current": version == 1,
                }
                budgets.append(budget)
                for (account, dept), by_month in sorted(
                    actual.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
                ):
                    average = sum(by_month.values(), Decimal(0)) / len(by_month)
                    for m in range(1, 13):
                        month = dt.date(year, m, 1)
                        base = by_month.get(month, average)
                        value = base * Decimal(str(round(rng.uniform(1 - spread, 1 + spread), 3)))
                        seq += 1
                        lines.append(
                            {
                                "external_id": f"BL-{seq:07d}",
                                "updated_at": stamp,
                                "budget": budget["external_id"],
                                "account": account,
                                "department": dept,
                                "month": month,
                                "amount": value.quantize(Decimal(100)).quantize(CENT),
                                "currency": self.currency,
                                "campaign": None,
                                "initiative": None,
                            }
                        )


def generate(
    *,
    seed: int = 7,
    scale: float = 1.0,
    end_month: dt.date | None = None,
    reporting_currency: str | None = None,
) -> Company:
    """Generate the company: 24 months ending with ``end_month`` (default: the last complete
    month, UTC)."""
    end = (end_month or default_end_month()).replace(day=1)
    currency = (reporting_currency or reporting_currency_default()).upper()
    g = _Gen(seed=seed, scale=scale, end_month=end, currency=currency)
    # Millions of small dicts: the cyclic GC would rescan them over and over for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _build(g)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Company(
        seed=seed,
        scale=scale,
        start_month=g.start_month,
        end_month=end,
        reporting_currency=currency,
        entities={name: g.e[name] for name in ENTITY_ORDER},
    )


def _build(g: _Gen) -> None:
    g.fx_rates()
    g.departments()
    g.accounts()
    g.channels()
    g.campaigns()
    g.contacts_and_touchpoints()
    g.sales_org()
    g.deals_and_customers()
    g.subscriptions()
    g.initiatives()
    g.invoices()
    g.gl_lines()
    g.budgets()
