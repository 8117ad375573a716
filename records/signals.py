"""Signals about the canonical records, for the apps above that react to new data.

``records_synced`` is sent by a connector after a sync succeeded, or after a push (API or
webhook) changed records (kwarg ``connector_id``): the metrics engine listens and requests a
debounced recompute, so connectors and metrics never import each other.
"""

from django.dispatch import Signal

records_synced = Signal()
