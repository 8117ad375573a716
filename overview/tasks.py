from celery import shared_task

from overview.evidence import roadmap_evidence_refresh


# expires: a check queued behind a backlog is dropped; the next one two minutes later replaces it.
@shared_task(name="overview.tasks.roadmap_evidence_check", expires=120)
def roadmap_evidence_check() -> dict[str, int | list[str]]:
    """Check the roadmap checklist's evidence (thin: overview.evidence does the work)."""
    result = roadmap_evidence_refresh()
    return {"checked": result.checked, "verified": result.verified, "completed": result.completed}
