"""Celery tasks of alerting: thin, safe to run twice (ticks and notifications are claimed)."""

from celery import shared_task

from alerts.evaluation import rules_evaluate
from alerts.notifications import notifications_process


# A tick older than its interval is useless: expire it rather than run a backlog.
@shared_task(acks_late=True, expires=120)
def evaluate_alerts() -> dict:
    """Evaluate the rules that are due, then queue and send what their states call for."""
    summary = rules_evaluate()
    return {**summary, **notifications_process()}
