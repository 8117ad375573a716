"""The state machine of one alert instance (Grafana alerting's states, with hysteresis).

Pure: plain strings and Decimals in, a :class:`Step` out; ``alerts.evaluation`` stores it.

One evaluation of an instance sees a value (a Decimal), no value (``None``: no data) or a
failed read (``error=True``) and moves the instance:

* **normal / resolved / no_data / error** — a breach starts the pending count (1); once
  ``pending_evaluations`` breaches in a row are counted the instance fires (1: at once),
  before that it is ``pending``. A value on the normal side leaves ``normal`` and
  ``resolved`` as they are and turns ``pending`` / ``no_data`` / ``error`` into ``normal``.
* **pending** — a further breach adds to the count (firing once it reaches
  ``pending_evaluations``); a non-breaching value sends it back to ``normal`` (count 0).
* **firing** — stays firing until the value is back at or past the *recovery* threshold on
  the normal side (hysteresis: no resolve/fire flapping around the threshold); then
  ``resolved``. Between the threshold and the recovery threshold it keeps firing.
* **resolved** stays ``resolved`` (so the page can show what recovered) until the next
  breach (pending, or firing at once) or a no-data / error evaluation; it does not turn
  into ``normal`` by itself — it *behaves* like normal for the next evaluation.

No data follows the rule's ``no_data_action``: ``no_data`` (show it; the count restarts),
``keep`` (nothing changes), ``normal`` (as a value on the normal side that is also past the
recovery threshold: a firing instance resolves), ``firing`` (as a breach: through the pending
count). A failed read follows ``error_action``: ``error``, ``keep`` or ``firing`` likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NORMAL, PENDING, FIRING, RESOLVED, NO_DATA, ERROR = (
    "normal",
    "pending",
    "firing",
    "resolved",
    "no_data",
    "error",
)
GT, GTE, LT, LTE = "gt", "gte", "lt", "lte"
COMPARATORS = (GT, GTE, LT, LTE)
KEEP = "keep"


@dataclass(frozen=True)
class Terms:
    """What a rule says about its values: the comparison, the thresholds, the pending count
    and what missing values and failed reads do."""

    comparator: str
    threshold: Decimal
    recovery_threshold: Decimal | None = None
    pending_evaluations: int = 1
    no_data_action: str = NO_DATA
    error_action: str = ERROR


@dataclass(frozen=True)
class Step:
    """The instance after one evaluation; ``changed``: its state differs (a transition)."""

    state: str
    breaches: int
    changed: bool


def breaches(comparator: str, value: Decimal, threshold: Decimal) -> bool:
    """Whether ``value`` is on the alerting side of ``threshold``."""
    if comparator == GT:
        return value > threshold
    if comparator == GTE:
        return value >= threshold
    if comparator == LT:
        return value < threshold
    if comparator == LTE:
        return value <= threshold
    raise ValueError(f"unknown comparator {comparator!r}")


def recovered(comparator: str, value: Decimal, recovery: Decimal) -> bool:
    """Whether ``value`` is back at or past ``recovery`` on the normal side (``gt 10``
    recovering at 8 needs ``<= 8``; ``lt 99.9`` recovering at 99.95 needs ``>= 99.95``)."""
    if comparator in (GT, GTE):
        return value <= recovery
    if comparator in (LT, LTE):
        return value >= recovery
    raise ValueError(f"unknown comparator {comparator!r}")


def recovery_problem(
    comparator: str, threshold: Decimal, recovery_threshold: Decimal | None
) -> str:
    """Why the recovery threshold is unusable ("" when fine): it must lie on the normal side
    of the threshold (at or below it for gt/gte, at or above it for lt/lte)."""
    if comparator not in COMPARATORS:
        return f"unknown comparator {comparator!r}"
    if recovery_threshold is None:
        return ""
    if comparator in (GT, GTE) and recovery_threshold > threshold:
        return (
            f"the recovery threshold {recovery_threshold} must be at or below the threshold "
            f"{threshold} (an alert on values above it recovers below it)"
        )
    if comparator in (LT, LTE) and recovery_threshold < threshold:
        return (
            f"the recovery threshold {recovery_threshold} must be at or above the threshold "
            f"{threshold} (an alert on values below it recovers above it)"
        )
    return ""


def _breach(state: str, count: int, terms: Terms) -> Step:
    if state == FIRING:
        return Step(FIRING, count + 1, False)
    count = count + 1 if state == PENDING else 1
    new = FIRING if count >= max(terms.pending_evaluations, 1) else PENDING
    return Step(new, count, new != state)


def _calm(state: str, *, past_recovery: bool) -> Step:
    """A value on the normal side (``past_recovery``: also past the recovery threshold)."""
    if state == FIRING:
        if past_recovery:
            return Step(RESOLVED, 0, True)
        return Step(FIRING, 0, False)  # inside the hysteresis band: still firing
    if state == RESOLVED:
        return Step(RESOLVED, 0, False)
    return Step(NORMAL, 0, state != NORMAL)


def _shown(state: str, count: int, shown: str) -> Step:
    return Step(shown, 0, state != shown)


def step(
    *, state: str, breaches_count: int, value: Decimal | None, error: bool, terms: Terms
) -> Step:
    """The instance's state after one evaluation (module docstring: the rules)."""
    if error:
        action = terms.error_action
        if action == KEEP:
            return Step(state, breaches_count, False)
        if action == FIRING:
            return _breach(state, breaches_count, terms)
        return _shown(state, breaches_count, ERROR)
    if value is None:
        action = terms.no_data_action
        if action == KEEP:
            return Step(state, breaches_count, False)
        if action == FIRING:
            return _breach(state, breaches_count, terms)
        if action == NORMAL:
            return _calm(state, past_recovery=True)
        return _shown(state, breaches_count, NO_DATA)
    if breaches(terms.comparator, value, terms.threshold):
        return _breach(state, breaches_count, terms)
    recovery = terms.threshold if terms.recovery_threshold is None else terms.recovery_threshold
    return _calm(state, past_recovery=recovered(terms.comparator, value, recovery))
