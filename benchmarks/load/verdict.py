"""From locust's statistics to the per-endpoint table and the load test's verdict.

A run passes when no endpoint fails more than 0.1% of its requests (nor the run as a whole)
and every endpoint's p95 is within the target of its class (docs/benchmarks.md says why each
number). An endpoint no target covers fails, and so does a class that got no request: a new
request name must get a target, and a run whose mix did not happen proves nothing.
Pure functions: no Django, no locust.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

# Failures allowed, as a fraction of requests: 1 in 1,000 (0.1%), compared in integers.
MAX_FAILURES_PER_THOUSAND = 1


@dataclass(frozen=True)
class Target:
    """The p95 allowed for the requests whose name starts with ``prefix``."""

    label: str
    prefix: str
    p95_ms: int


# The end-to-end p95 on loopback (client send to last byte), at the load-test mix.
TARGETS: tuple[Target, ...] = (
    # The "any period on any dashboard <= 500 ms p95"; pages read stored snapshots.
    Target("dashboard page", "GET /dashboards/", 500),
    # One stored snapshot serialised to JSON: less work than a page.
    Target("metric API read", "GET /api/v1/metrics/", 300),
    # 20 ledger lines: validate, upsert, batch audit row, idempotency key, recompute request.
    Target("ingest push (20 lines)", "POST /api/v1/ingest/", 1000),
    # Signature check + 5 lines, the event id recorded in the same transaction.
    Target("webhook delivery (5 lines)", "POST /api/v1/webhooks/", 500),
    # Password hashing (PBKDF2) is slow on purpose; once per simulated user.
    Target("login", "GET /accounts/login/", 500),
    Target("login", "POST /accounts/login/", 2000),
)


@dataclass(frozen=True)
class EndpointStats:
    """One request name's counts and percentiles (milliseconds), as locust recorded them."""

    name: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Row:
    stats: EndpointStats
    target: Target | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Verdict:
    rows: tuple[Row, ...]
    total: EndpointStats
    problems: tuple[str, ...]  # every reason the run failed, endpoint ones included

    @property
    def passed(self) -> bool:
        return not self.problems


def too_many_failures(requests: int, failures: int) -> bool:
    """More than 0.1% of the requests failed (no request at all counts as passing here)."""
    return failures * 1000 > requests * MAX_FAILURES_PER_THOUSAND


def error_percent(stats: EndpointStats) -> float:
    return 100.0 * stats.failures / stats.requests if stats.requests else 0.0


def target_for(name: str, targets: tuple[Target, ...] = TARGETS) -> Target | None:
    return next((t for t in targets if name.startswith(t.prefix)), None)


def stats_from_csv(text: str) -> tuple[list[EndpointStats], EndpointStats]:
    """Locust's ``<prefix>_stats.csv``: the rows per request name and the aggregated row."""
    rows: list[EndpointStats] = []
    total: EndpointStats | None = None
    for record in csv.DictReader(io.StringIO(text)):
        name, method = record["Name"], record["Type"]
        stats = EndpointStats(
            name=f"{method} {name}" if method else name,
            requests=int(record["Request Count"]),
            failures=int(record["Failure Count"]),
            p50_ms=_ms(record["50%"]),
            p95_ms=_ms(record["95%"]),
            p99_ms=_ms(record["99%"]),
        )
        if record["Name"] == "Aggregated":
            total = stats
        else:
            rows.append(stats)
    if total is None:
        raise ValueError("no Aggregated row: not a locust stats CSV")
    return rows, total


def _ms(text: str) -> float:
    return 0.0 if text in ("", "N/A") else float(text)


def verdict(
    endpoints: list[EndpointStats],
    total: EndpointStats,
    targets: tuple[Target, ...] = TARGETS,
) -> Verdict:
    rows = []
    problems: list[str] = []
    for stats in sorted(endpoints, key=lambda s: s.name):
        target = target_for(stats.name, targets)
        row_problems = []
        if target is None:
            row_problems.append("no target for this request name")
        elif stats.p95_ms > target.p95_ms:
            row_problems.append(f"p95 {stats.p95_ms:g} ms > {target.p95_ms} ms")
        if too_many_failures(stats.requests, stats.failures):
            row_problems.append(f"error rate {error_percent(stats):.2f}% > 0.1%")
        rows.append(Row(stats, target, tuple(row_problems)))
        problems += [f"{stats.name}: {p}" for p in row_problems]
    if too_many_failures(total.requests, total.failures):
        problems.append(f"all requests: error rate {error_percent(total):.2f}% > 0.1%")
    seen = {row.target.label for row in rows if row.target is not None and row.stats.requests}
    for label in dict.fromkeys(t.label for t in targets):
        if label not in seen:
            problems.append(f"{label}: no request was made")
    return Verdict(tuple(rows), total, tuple(problems))


def table(result: Verdict) -> str:
    """The printed table: one line per endpoint, then the run's totals and verdict."""
    width = max([len(r.stats.name) for r in result.rows] + [len("all requests")])
    head = (
        f"{'endpoint':<{width}} {'requests':>8} {'fails':>6} {'error %':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p95 target':>10}  result"
    )
    lines = [head, "-" * len(head)]
    for row in result.rows:
        s = row.stats
        target = f"{row.target.p95_ms}" if row.target else "-"
        lines.append(
            f"{s.name:<{width}} {s.requests:>8} {s.failures:>6} {error_percent(s):>8.2f} "
            f"{s.p50_ms:>7g} {s.p95_ms:>7g} {s.p99_ms:>7g} {target:>10}  "
            + ("PASS" if row.passed else "FAIL: " + "; ".join(row.problems))
        )
    t = result.total
    lines.append("-" * len(head))
    lines.append(
        f"{'all requests':<{width}} {t.requests:>8} {t.failures:>6} {error_percent(t):>8.2f} "
        f"{t.p50_ms:>7g} {t.p95_ms:>7g} {t.p99_ms:>7g} {'':>10}  "
        + ("PASS" if result.passed else "FAIL")
    )
    return "\n".join(lines)
