"""FinHub's roles: which permissions each Django group holds.

The groups are created by a migration; their permissions are recomputed from this table
after every migrate, so a model added by a later change is covered without a new migration.
"""

from dataclasses import dataclass

FINANCE_VIEWER = "Finance viewer"
PROJECT_MANAGER = "Project manager"
INTEGRATION_ADMIN = "Integration admin"


@dataclass(frozen=True)
class RoleSpec:
    view_apps: tuple[str, ...] = ()  # view_* on every model of these apps
    manage_apps: tuple[str, ...] = ()  # add/change/delete/view on every model of these apps
    extra: tuple[str, ...] = ()  # "app_label.codename"


ROLES: dict[str, RoleSpec] = {
    FINANCE_VIEWER: RoleSpec(
        view_apps=("records", "metrics", "roadmap", "connectors", "alerts", "reports", "closing"),
        # Finance triages spend anomalies (dismissing one) and owns alerts: acknowledging
        # one, recording the decision taken, silencing its notifications, resolving it.
        extra=(
            "core.view_dashboards",
            "metrics.change_spendanomaly",
            "alerts.add_acknowledgement",
            "alerts.change_acknowledgement",
            "alerts.add_silence",
            "alerts.change_alertinstance",
            # Finance runs the month-end close (opens it, ticks its manual tasks) and
            # generates reports on demand (each one archived).
            "closing.add_close",
            "closing.change_closetask",
            "reports.add_archivedreport",
        ),
    ),
    PROJECT_MANAGER: RoleSpec(
        view_apps=("records", "metrics", "connectors", "alerts"),
        # The rollout, and the routine finance work it automates: close templates and
        # closes, report packs and their delivery schedules.
        manage_apps=("roadmap", "closing", "reports"),
        # The operations page: the scorecard's response time and API reliability.
        extra=("core.view_dashboards", "operations.view_operations"),
    ),
    INTEGRATION_ADMIN: RoleSpec(
        view_apps=("records", "metrics", "roadmap", "alerts"),
        manage_apps=("connectors", "django_celery_beat"),
        # Configures alerting: the rules, where notifications go, and silences.
        extra=(
            "core.view_dashboards",
            # The operations page: response times and the sources' API reliability.
            "operations.view_operations",
            *(
                f"alerts.{action}_{model}"
                for model in ("alertrule", "notificationchannel", "silence")
                for action in ("add", "change", "delete")
            ),
        ),
    ),
}
