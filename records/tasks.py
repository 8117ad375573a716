"""Background jobs of the records app (thin: they call services)."""

from celery import shared_task

from records.ingestion.services import pending_references_resolve


# expires: a sweep queued behind a backlog is dropped; the next one runs 10 minutes later.
@shared_task(acks_late=True, expires=600)
def pending_references_resolve_all() -> dict[str, int]:
    """Resolve pending references whose target exists; returns "entity.field" -> rows fixed."""
    fixed = pending_references_resolve()
    return {f"{entity}.{field}": count for (entity, field), count in sorted(fixed.items())}
