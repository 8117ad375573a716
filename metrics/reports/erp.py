"""Won deals checked against the revenue the ERP recorded for them (docs/metrics.md,
"Sales-finance consistency"): the sales report's consistency and the revenue attribution
accuracy measurement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from metrics import selectors
from metrics.computations.sales import DEFAULT_TOLERANCE, amounts_consistent


@dataclass(frozen=True)
class ErpCheck:
    """Whether a won deal matches its ERP revenue, that revenue and why not."""

    ok: bool
    erp_revenue: Decimal | None
    why: str


def erp_checks(
    deals: Sequence[tuple[int, Decimal, str, Decimal | None]],
    *,
    start: dt.date,
    end: dt.date,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> dict[int, ErpCheck]:
    """Per won deal ``(id, amount, currency, value in reporting currency)`` closed in the
    period: whether the ERP revenue recorded for it matches within ``tolerance``."""
    erp = selectors.erp_revenue_by_deal(
        start=start, end=end, deal_currency={deal[0]: deal[2] for deal in deals}
    )
    # The checks without an ERP revenue are the same for every deal: built once (frozen).
    no_revenue = ErpCheck(False, None, "no ERP revenue (invoice) recorded for the deal")
    no_invoice_rate = ErpCheck(
        False, None, "an invoice of the deal has no FX rate on its issue date"
    )
    checks = {}
    for pk, amount, currency, value in deals:
        erp_currency, erp_amount = erp.get(pk, (None, None))
        if erp_currency is None:
            checks[pk] = no_revenue
            continue
        if erp_amount is None:
            checks[pk] = no_invoice_rate
            continue
        if value is None and erp_currency != currency:
            checks[pk] = ErpCheck(False, erp_amount, "the deal has no FX rate on its close date")
            continue
        compared = amount if erp_currency == currency else value
        ok = amounts_consistent(compared, erp_amount, tolerance=tolerance)
        checks[pk] = ErpCheck(ok, erp_amount, "" if ok else "amount differs from the ERP revenue")
    return checks
