"""Background jobs of the metrics engine (thin: they call services)."""

from celery import shared_task

from metrics.anomalies import anomalies_detect
from metrics.forecasts import forecasts_refresh
from metrics.incremental import default_requests, metrics_recompute_changed
from metrics.params import params_hash
from metrics.services import metrics_compute_all, metrics_recompute_claim
from metrics.snapshots import snapshots_warm


# acks_late: a worker lost mid-run leaves the message for another one (recomputing is
# idempotent: every snapshot is replaced, and the changed months are cleared only once done).
# expires: a run queued behind a backlog for more than 6 hours is dropped, since the next
# nightly or after-sync run supersedes it.
@shared_task(acks_late=True, expires=6 * 3600)
def compute_metrics(connector_id: int | None = None, generation: int | None = None) -> dict:
    """After a sync or push (``generation`` set; debounced: skipped when a later request is
    pending): recompute only the stored snapshots the changed months feed
    (metrics/incremental.py). Nightly (no generation): every snapshot of the default period
    and of the dashboards' usual periods, then whatever else the changed months concern.

    ``connector_id`` names the sync that triggered the run (logged only: the changed months
    say what to recompute, whoever wrote them).
    """
    if generation is not None:
        if not metrics_recompute_claim(generation=generation):
            return {"skipped": f"request {generation} superseded by a later one"}
        changed = metrics_recompute_changed()
        out = {key: str(value) for key, value in changed.items()}
    else:
        summary = metrics_compute_all()
        warmed = snapshots_warm()
        done = {(kind, params_hash(params)) for kind, params in default_requests(today=None)}
        changed = metrics_recompute_changed(exclude=done, push_measurements=False)
        out = {
            **{key: str(value) for key, value in summary.items()},
            "dashboard_snapshots": str(warmed["snapshots"]),
            "changed_snapshots": str(changed["recomputed"]),
        }
    # Forecasts and anomalies come after the metrics (another worker may take them): the
    # forecast recomputes only when the ledger or budgets changed or a month closed since the
    # stored one; detection upserts, so a repeat run changes nothing.
    compute_forecasts.delay()
    detect_spend_anomalies.delay()
    return out


# Same delivery guarantees as compute_metrics: a lost run is redelivered, a stale one dropped.
@shared_task(acks_late=True, expires=6 * 3600)
def compute_forecasts(force: bool = False) -> dict:
    """Recompute the current fiscal year's forecast and backtest when outdated (or ``force``)
    and push the prediction accuracy to the scorecard."""
    return {key: str(value) for key, value in forecasts_refresh(force=force).items()}


# Same delivery guarantees as compute_metrics; detecting twice is harmless (an upsert).
@shared_task(acks_late=True, expires=6 * 3600)
def detect_spend_anomalies() -> dict:
    """Score daily campaign spend and weekly GL expense and store the anomalies (dismissed
    ones stay dismissed)."""
    return anomalies_detect()
