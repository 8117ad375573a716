"""The admin's "Test connection": one read of the source, timed, that never raises."""

from __future__ import annotations

import time
from dataclasses import dataclass

from connectors.models import Connector

from .adapters import adapter_for, needs_http
from .errors import SyncError
from .http import SourceClient
from .mapping import entity_configs


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    latency_ms: int
    status_code: int | None
    message: str


def connection_test(connector: Connector) -> ConnectionTestResult:
    """Read the first record of the connector's first entity once (no retries) and say how
    it went and how long it took. Never raises for source or configuration problems."""
    started = time.monotonic()

    def result(ok: bool, status_code: int | None, message: str) -> ConnectionTestResult:
        latency = int((time.monotonic() - started) * 1000)
        return ConnectionTestResult(ok, latency, status_code, message)

    configs = entity_configs(connector.sync_config)
    if connector.transport == Connector.Transport.PUSH_ONLY:
        return result(False, None, "push-only connector: nothing to pull")
    if not configs or not isinstance(configs[0].get("resource"), str):
        return result(False, None, "No entity is configured: set the sync configuration first.")
    resource = configs[0]["resource"]
    client = None
    try:
        if needs_http(connector):
            client = SourceClient(connector)
        probe = adapter_for(connector, client).probe(resource)
        return result(True, probe.status_code, probe.message)
    except SyncError as exc:
        return result(False, getattr(exc, "status_code", None), str(exc))
    except Exception as exc:  # a test connection reports, it does not crash the admin
        return result(False, None, f"{type(exc).__name__}: {exc}")
    finally:
        if client is not None:
            client.close()
