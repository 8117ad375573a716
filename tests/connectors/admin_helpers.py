"""Building the connector admin's change-form POST the way the browser sends it."""

import json

from connectors import schedules_service

# The connector change form's inline formsets (sync states, API tokens): read-only, empty.
INLINE_PREFIXES = ("states", "api_tokens")


def connector_form_data(connector=None, **overrides) -> dict:
    """POST data for /admin/connectors/connector/<id>/change/ (or add/ without connector)."""
    data = {
        "name": "ERP",
        "slug": "",
        "kind": "erp",
        "transport": "rest_pull",
        "enabled": "on",
        "base_url": "http://127.0.0.1:8765/erp/v1",
        "pagination": "cursor",
        "drop_path": "",
        "auth_type": "bearer",
        "auth_header_name": "X-Api-Key",
        "token_url": "",
        "stale_after_minutes": "0",
        "sync_config": "{}",
        "schedule_kind": "none",
        "schedule_every_minutes": "",
        "schedule_crontab": "",
    }
    if connector is not None:
        schedule = schedules_service.connector_schedule(connector)
        data |= {
            "name": connector.name,
            "slug": connector.slug,
            "kind": connector.kind,
            "transport": connector.transport,
            "enabled": "on" if connector.enabled else "",
            "base_url": connector.base_url,
            "pagination": connector.pagination,
            "drop_path": connector.drop_path,
            "auth_type": connector.auth_type,
            "auth_header_name": connector.auth_header_name,
            "token_url": connector.token_url,
            "stale_after_minutes": str(connector.stale_after_minutes),
            "sync_config": json.dumps(connector.sync_config),
            "reference_sources": [c.pk for c in connector.reference_sources.all()],
            "schedule_kind": schedule.kind,
            "schedule_every_minutes": schedule.every_minutes or "",
            "schedule_crontab": schedule.crontab,
        }
    for prefix in INLINE_PREFIXES:
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    data |= overrides
    return {key: value for key, value in data.items() if value is not None}
