""" "API tokens" spelled right in the admin (issue #18, item 14), not Django's "Api tokens"."""

import pytest
from django.urls import reverse

from connectors.models import ApiToken

pytestmark = pytest.mark.django_db


def test_api_token_names(client, superuser):
    assert ApiToken._meta.verbose_name == "API token"
    assert ApiToken._meta.verbose_name_plural == "API tokens"
    client.force_login(superuser)
    for url in (
        reverse("admin:index"),
        reverse("admin:app_list", args=["connectors"]),
        reverse("admin:connectors_apitoken_changelist"),
    ):
        html = client.get(url).content.decode()
        assert "API tokens" in html, url
        assert "Api token" not in html, url
