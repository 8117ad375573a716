"""A task only the workers of tests/core/test_worker_shutdown.py load (``--include``)."""

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.core.worker_tasks.hold", acks_late=True)
def hold(marker: str, seconds: float) -> str:
    """Note a start in ``marker`` (one line per run), then keep the worker busy."""
    with Path(marker).open("a") as file:
        file.write("started\n")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
    return "held"
