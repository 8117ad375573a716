import pytest


@pytest.fixture(autouse=True)
def _site_relative_links(settings):
    """Messages in these tests link site-relative (FINHUB_BASE_URL empty) unless a test sets
    the base URL itself."""
    settings.FINHUB_BASE_URL = ""
