import pytest

from tests.connectors.helpers import reset_throttles


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache and token ids repeat across rolled-back tests.
    reset_throttles()
    yield
    reset_throttles()
