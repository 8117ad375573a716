"""A phase's exit gate, evaluated over plain facts (no database access here).

The gate holds when each criterion is met: every deliverable of the phase closed (done or
not applicable) when the phase requires them, and every success metric the phase owns
measured, at target and not stale. ``roadmap.selectors`` gathers the facts;
``roadmap.services.phase_complete`` refuses to complete a phase whose gate does not hold.
"""

import datetime
from dataclasses import asdict, dataclass

from django.utils import timezone

MET = "met"
NOT_MET = "not_met"
NOT_MEASURED = "not_measured"
STALE = "stale"
STATE_LABELS = {MET: "Met", NOT_MET: "Not met", NOT_MEASURED: "Not measured", STALE: "Stale"}

DELIVERABLE = "deliverable"
METRIC = "metric"

# A metric is stale once its last measurement is older than its cadence plus this share of
# it: an hourly figure after 90 minutes, a daily one after 36 hours (one missed nightly run
# and the morning after), a monthly one after 46.5 days.
STALE_GRACE_SHARE = 0.5


def metric_stale_since(
    *, last_measured_at: datetime.datetime | None, cadence: datetime.timedelta | None
) -> datetime.datetime | None:
    """When a metric measured at ``last_measured_at`` becomes stale (None: never — no
    cadence, or never measured, which the scorecard shows as "not measured" instead)."""
    if cadence is None or last_measured_at is None:
        return None
    return last_measured_at + cadence * (1 + STALE_GRACE_SHARE)


def metric_is_stale(
    *,
    last_measured_at: datetime.datetime | None,
    cadence: datetime.timedelta | None,
    now: datetime.datetime,
) -> bool:
    since = metric_stale_since(last_measured_at=last_measured_at, cadence=cadence)
    return since is not None and now > since


@dataclass(frozen=True)
class Criterion:
    """One exit criterion with the evidence for its state and where to see it."""

    kind: str  # DELIVERABLE or METRIC
    key: str
    title: str
    state: str  # MET, NOT_MET, NOT_MEASURED or STALE
    evidence: str  # what was found, in words
    url: str = ""  # the item's admin page, or the metric's scorecard row
    evidence_url: str = ""  # the deliverable's evidence (a FinHub page or a link typed in)

    @property
    def holds(self) -> bool:
        return self.state == MET

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.title}: {self.state_label.lower()} ({self.evidence})"


@dataclass(frozen=True)
class Gate:
    """A phase's exit criteria, in order: deliverables, then metrics."""

    phase_number: int
    criteria: tuple[Criterion, ...]

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.criteria)

    @property
    def unmet(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.holds)

    @property
    def met_count(self) -> int:
        return sum(1 for c in self.criteria if c.holds)


@dataclass(frozen=True)
class DeliverableFact:
    key: str
    title: str
    closed: bool  # done or not applicable
    status_label: str
    evidence_summary: str = ""
    url: str = ""
    evidence_url: str = ""


@dataclass(frozen=True)
class MetricFact:
    key: str
    name: str
    state: str  # the scorecard's: "met", "not_met" or "not_measured"
    stale: bool
    latest_text: str
    target_text: str
    last_measured_at: datetime.datetime | None
    url: str = ""


def deliverable_criterion(fact: DeliverableFact) -> Criterion:
    evidence = fact.status_label
    if fact.evidence_summary:
        evidence += f"; FinHub found: {fact.evidence_summary}"
    return Criterion(
        kind=DELIVERABLE,
        key=fact.key,
        title=fact.title,
        state=MET if fact.closed else NOT_MET,
        evidence=evidence,
        url=fact.url,
        evidence_url=fact.evidence_url,
    )


def metric_criterion(fact: MetricFact) -> Criterion:
    if fact.state == NOT_MEASURED or fact.last_measured_at is None:
        state, evidence = NOT_MEASURED, f"no measurement yet; target {fact.target_text}"
    else:
        when = f"{timezone.localtime(fact.last_measured_at):%Y-%m-%d %H:%M}"
        evidence = f"{fact.latest_text} (target {fact.target_text}), measured {when}"
        if fact.stale:
            state, evidence = STALE, evidence + ", not measured since its cadence"
        else:
            state = MET if fact.state == MET else NOT_MET
    return Criterion(
        kind=METRIC, key=fact.key, title=fact.name, state=state, evidence=evidence, url=fact.url
    )


def gate_evaluate(
    *,
    phase_number: int,
    requires_deliverables: bool,
    deliverables: list[DeliverableFact],
    metrics: list[MetricFact],
) -> Gate:
    """The gate of a phase from its facts; without ``requires_deliverables`` the
    deliverables are not criteria (the metrics alone decide)."""
    criteria = [deliverable_criterion(d) for d in deliverables] if requires_deliverables else []
    criteria += [metric_criterion(m) for m in metrics]
    return Gate(phase_number=phase_number, criteria=tuple(criteria))
