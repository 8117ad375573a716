import pytest

from operations.recorder import RECORDER


@pytest.fixture(autouse=True)
def recorder():
    """The process's recorder, emptied of what earlier tests' requests left in it."""
    RECORDER.take()
    yield RECORDER
    RECORDER.take()
