"""Alerting: rules and the alert instances they evaluate (rules.py), notifications, silences
and acknowledgements (notifications.py)."""

from alerts.models.notifications import (
    Acknowledgement,
    AlertGroup,
    Notification,
    NotificationChannel,
    Silence,
)
from alerts.models.rules import AlertInstance, AlertRule, AlertTransition, Severity, State

__all__ = [
    "Acknowledgement",
    "AlertGroup",
    "AlertInstance",
    "AlertRule",
    "AlertTransition",
    "Notification",
    "NotificationChannel",
    "Severity",
    "Silence",
    "State",
]
