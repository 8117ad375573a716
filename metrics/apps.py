from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """The metrics engine: reports computed from the canonical records, stored as snapshots."""

    name = "metrics"

    def ready(self) -> None:
        from records.signals import records_changed, records_synced

        records_synced.connect(_recompute_after_sync, dispatch_uid="metrics-after-sync")
        records_changed.connect(_changes_record, dispatch_uid="metrics-changed-months")


def _recompute_after_sync(sender: object, *, connector_id: int, **kwargs: object) -> None:
    from metrics.services import metrics_recompute_after_sync

    metrics_recompute_after_sync(connector_id=connector_id)


def _changes_record(sender: type, *, months: object, **kwargs: object) -> None:
    from metrics.incremental import changes_record
    from metrics.ledger_aggregates import dirty_record

    changes_record(model=sender, months=months)  # type: ignore[arg-type]
    dirty_record(model=sender, months=months)  # type: ignore[arg-type]
