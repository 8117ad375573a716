"""The Celery application; configuration comes from Django settings (``CELERY_*``)."""

import gc
import logging
import os

from billiard import common as billiard_common
from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finhub.settings")

app = Celery("finhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@signals.worker_init.connect
def warn_when_sigterm_waits_for_tasks(**kwargs: object) -> None:
    """Workers must start with ``REMAP_SIGTERM=SIGQUIT`` in their environment (read by billiard
    when ``celery`` starts, so it cannot be set from here). Without it SIGTERM waits for the
    running tasks however long they take (a sync: minutes), and pool processes killed by a
    SIGTERM sent to the whole process group (honcho, systemd) can leave the worker hung on
    the filesystem broker. With it SIGTERM is a cold shutdown bounded by
    CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT that returns unfinished tasks to their queue."""
    if billiard_common.REMAP_SIGTERM != "SIGQUIT":
        logger.warning(
            "REMAP_SIGTERM=SIGQUIT is not set: SIGTERM will wait for running tasks without a "
            "time limit (see docs/operations.md, 'Stopping a worker')"
        )


@signals.worker_ready.connect
def freeze_startup_objects(**kwargs: object) -> None:
    """Exempt what startup loaded (Django, every app) from garbage collection: the collector
    then skips it on every pass and at exit, which otherwise takes seconds of a worker's
    shutdown grace period."""
    gc.freeze()
