from datetime import date

import pytest

from tests.connectors.helpers import reset_throttles


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache and token ids repeat across rolled-back tests.
    reset_throttles()
    yield
    reset_throttles()


# --- the sandbox source (connectors/sandbox), in-process on an ephemeral port ----------------

SANDBOX_SEED = 7
SANDBOX_SCALE = 0.02
SANDBOX_END_MONTH = date(2026, 10, 1)


def _sandbox_server(log=None):
    from connectors.sandbox.server import SandboxServer

    return SandboxServer(
        host="127.0.0.1",
        port=0,
        seed=SANDBOX_SEED,
        scale=SANDBOX_SCALE,
        end_month=SANDBOX_END_MONTH,
        log=log,
    )


@pytest.fixture
def sandbox():
    """A fresh sandbox source on 127.0.0.1 (``.url``, ``.server``, ``.company``)."""
    server = _sandbox_server(log=True).start()  # request lines show on a failure
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox_session():
    """One sandbox for the session: read-only tests only (faults and mutations leak)."""
    server = _sandbox_server().start()
    yield server
    server.stop()
