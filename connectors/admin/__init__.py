"""Connector, sync run, API token and webhook event admin.

Secrets are write-only or shown once: a token's plaintext and a connector's webhook secret are
rendered straight into the response of the request that created them (never stored in a
message, the session or a log); the token's hash, the encrypted webhook secret and the
connector's source credentials are never displayed (the page says only when they were set).

Integration admins configure a connector here (source, auth, mapping, schedule) and run its
operations (operations.py: test connection, sync now, full refresh, backfill, reset state,
reprocess rejected records, pause / resume). The admin only collects input: the work is done
by connectors.services, connectors.sync.runs, connectors.sync.probe, connectors.credentials
and connectors.schedules_service.

- ``forms.py``: the connector form (write-only credentials, schedule), backfill, API token.
- ``connector.py``: ``ConnectorAdmin`` (health columns, webhook secret, the operations).
- ``operations.py``: the table of connector operations and the actions made from it.
- ``sync_runs.py``, ``tokens.py``, ``webhooks.py``: the other admins.
- ``pages.py``: the secret-shown-once page.
"""

from . import connector, sync_runs, tokens, webhooks

__all__ = ["connector", "sync_runs", "tokens", "webhooks"]
