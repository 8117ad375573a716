"""`make run`'s log is not drowned by the sandbox (#18, item 15): the sandbox process of the
Procfile runs ``--quiet`` (no line per request; `make sandbox` alone shows them), and the
worker's HTTP client logs each request at DEBUG only (tests/core/test_logging.py)."""

import io
import shlex
from datetime import date
from pathlib import Path

from django.conf import settings

from connectors.sandbox.server import SandboxServer

from .helpers import request


def procfile() -> dict[str, list[str]]:
    lines = (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines()
    return {
        name: shlex.split(command)
        for name, command in (line.split(":", 1) for line in lines if ":" in line)
    }


def test_make_run_starts_the_sandbox_quiet():
    command = procfile()["sandbox"]
    assert "connectors.sandbox" in command
    assert "--quiet" in command


def test_the_sandbox_logs_requests_only_when_asked():
    stream = io.StringIO()
    server = SandboxServer(scale=0.01, end_month=date(2026, 10, 1), log=stream).start()
    try:
        assert request(f"{server.url}/no-such-path").status == 404
    finally:
        server.stop()
    assert "sandbox GET /no-such-path 404" in stream.getvalue()
