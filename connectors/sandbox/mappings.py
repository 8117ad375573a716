"""FinHub's side of the sandbox: connector settings and sync_config for each system.

``SANDBOX_SYSTEMS[system]`` holds what a Connector pointing at that sandbox system needs
(kind, pagination, auth, token path, credentials, sync_config); ``demo_connector_values``
turns it into Connector field values for a given sandbox base URL. The sync_config is
derived from shapes.RESOURCES — the same table the server renders rows with — so it maps
every source record back to exactly the canonical row it came from.

The credentials are sandbox-only public demo values, never real secrets.
"""

from __future__ import annotations

from .company import ENTITY_ORDER
from .server import CREDENTIALS, SYSTEMS
from .shapes import Resource, resources_of

SANDBOX_CREDENTIALS: dict[str, dict[str, str]] = {k: dict(v) for k, v in CREDENTIALS.items()}

_KIND = {
    "erp": "erp",
    "budget": "budget",
    "crm": "crm",
    "marketing": "marketing",
    "billing": "billing",
    "product": "product",
}
_NAMES = {
    "erp": "Sandbox ERP",
    "budget": "Sandbox Budget Planning",
    "crm": "Sandbox CRM",
    "marketing": "Sandbox Marketing Automation",
    "billing": "Sandbox Billing",
    "product": "Sandbox Product Tracking",
}
# Connector.AuthType values and the header an API key travels in.
_AUTH = {
    "oauth2": ("oauth2_client_credentials", ""),
    "basic": ("basic", ""),
    "bearer": ("bearer", ""),
    "api_key": ("api_key", "X-Api-Key"),
}

#: Which other sandbox systems a system's references resolve in (Connector.reference_sources):
#: e.g. CRM deals name marketing contacts and campaigns and billing customers.
REFERENCE_SOURCES: dict[str, tuple[str, ...]] = {
    "erp": ("billing", "crm", "marketing", "product"),
    "budget": ("erp", "marketing", "product"),
    "crm": ("marketing", "billing"),
    "marketing": (),
    "billing": ("marketing",),
    "product": ("erp",),
}


def entity_config(resource: Resource) -> dict:
    """One sync_config entity entry: canonical field -> source path (with its type)."""
    fields: dict[str, str | dict] = {}
    for f in resource.fields:
        fields[f.canonical] = f.path if f.type == "str" else {"path": f.path, "type": f.type}
    return {
        "entity": resource.entity,
        "resource": resource.name,
        "fields": fields,
        "deleted_flag": "deleted",
    }


def sync_config(system: str) -> dict:
    """The validated sync_config of a sandbox system, entities in dependency order."""
    resources = sorted(resources_of(system), key=lambda r: ENTITY_ORDER.index(r.entity))
    return {"entities": [entity_config(r) for r in resources]}


def _system(system: str) -> dict:
    _prefix, auth, pagination = SYSTEMS[system]
    auth_type, header = _AUTH[auth]
    return {
        "name": _NAMES[system],
        "kind": _KIND[system],
        "pagination": pagination,
        "auth_type": auth_type,
        "auth_header_name": header,
        "token_path": "/erp/oauth/token" if auth == "oauth2" else "",
        "credentials": SANDBOX_CREDENTIALS[system],
        "sync_config": sync_config(system),
    }


SANDBOX_SYSTEMS: dict[str, dict] = {system: _system(system) for system in SYSTEMS}


def demo_connector_values(base_url: str, system: str) -> dict:
    """Connector field values for a connector reading ``system`` from the sandbox at
    ``base_url`` (e.g. ``http://127.0.0.1:8765``). Credentials are returned under
    ``credentials`` for the caller to encrypt (connectors/credentials.py); they are not a
    model field."""
    base_url = base_url.rstrip("/")
    spec = SANDBOX_SYSTEMS[system]
    prefix = SYSTEMS[system][0]
    return {
        "name": spec["name"],
        "kind": spec["kind"],
        "transport": "rest_pull",
        "base_url": base_url + prefix,
        "pagination": spec["pagination"],
        "auth_type": spec["auth_type"],
        "auth_header_name": spec["auth_header_name"] or "X-Api-Key",
        "token_url": base_url + spec["token_path"] if spec["token_path"] else "",
        "sync_config": spec["sync_config"],
        "credentials": dict(spec["credentials"]),
    }
