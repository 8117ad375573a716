"""Signals about the canonical records, for the apps above that react to new data.

``records_synced`` is sent by a connector after a sync succeeded, or after a push (API or
webhook) changed records (kwarg ``connector_id``): the metrics engine listens and requests a
debounced recompute, so connectors and metrics never import each other.

``records_changed`` is sent by the ingestion engine inside every write's transaction (upsert,
soft or hard deletion, pending reference resolved, bulk load) with ``sender`` the model written
and ``months``: the first days of the months the written rows' dates fall in, before and after
the write, or None when the change is not tied to months. The metrics engine records them so
its recompute only redoes the reports those months feed (metrics/incremental.py).
"""

from django.dispatch import Signal

records_synced = Signal()
records_changed = Signal()
