import datetime

import pytest

from roadmap.services import programme_load


@pytest.fixture
def programme(db):
    """The shipped programme, started on a Monday six weeks ago (today is in phase 2)."""
    return programme_load().programme


@pytest.fixture
def start_monday():
    today = datetime.date.today()
    return today - datetime.timedelta(days=today.weekday(), weeks=6)
