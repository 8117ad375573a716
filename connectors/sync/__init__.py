"""Pulling data from source systems: HTTP client, auth, adapters, mapping, the sync engine,
its per-connector lease lock, reconciliation and the reaper of lost runs (issue #5)."""
