"""The connector and token admin: secrets shown once, never the hash, revoke, inline tokens."""

import re

import pytest

from connectors.models import ApiToken, Connector
from connectors.services import connector_webhook_secret
from tests.connectors.helpers import make_token
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db
TOKEN_RE = re.compile(r"fh_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def test_creating_a_token_shows_the_plaintext_once_and_it_works(client, integration_admin):
    connector = ConnectorFactory(name="ERP")
    client.force_login(integration_admin)
    response = client.post(
        "/admin/connectors/apitoken/add/",
        {
            "connector": connector.pk,
            "name": "erp-push",
            "can_write": "on",
            "allowed_entities": ["gl_lines", "accounts"],
            "scopes": "roadmap.measurements, ",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = TOKEN_RE.search(response.content.decode()).group(0)
    token = ApiToken.objects.get()
    assert (token.allowed_entities, token.scopes) == (
        ["gl_lines", "accounts"],
        ["roadmap.measurements"],
    )
    assert token.created_by == integration_admin
    # Never again: not on the change page, not in the list; the hash is never shown.
    for url in (
        f"/admin/connectors/apitoken/{token.pk}/change/",
        "/admin/connectors/apitoken/",
        f"/admin/connectors/connector/{connector.pk}/change/",
    ):
        page = client.get(url).content.decode()
        assert plaintext not in page
        assert token.key_hash not in page
        assert plaintext.split("_", 2)[2] not in page  # the secret may itself contain "_"
    response = client.post(
        "/api/v1/ingest/gl_lines/",
        data="[]",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.status_code == 200


def test_the_revoke_action_revokes(client, integration_admin):
    token, plaintext = make_token()
    client.force_login(integration_admin)
    response = client.post(
        "/admin/connectors/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    client.logout()
    denied = client.post(
        "/api/v1/ingest/gl_lines/",
        data="[]",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert denied.status_code == 401


def test_the_connector_page_lists_its_tokens(client, integration_admin):
    token, _ = make_token(name="nightly-load")
    client.force_login(integration_admin)
    page = client.get(f"/admin/connectors/connector/{token.connector.pk}/change/")
    assert page.status_code == 200
    assert "nightly-load" in page.content.decode()


def test_generating_a_webhook_secret_shows_it_once(client, integration_admin):
    connector = ConnectorFactory(name="Billing")
    client.force_login(integration_admin)
    response = client.post(
        "/admin/connectors/connector/",
        {"action": "generate_webhook_secret", "_selected_action": [connector.pk]},
    )
    assert response.status_code == 200
    secret = re.search(r"whsec_[A-Za-z0-9_-]+", response.content.decode()).group(0)
    connector.refresh_from_db()
    assert connector_webhook_secret(connector=connector) == secret
    page = client.get(f"/admin/connectors/connector/{connector.pk}/change/").content.decode()
    assert secret not in page
    assert connector.webhook_secret_encrypted not in page


def test_the_detail_action_asks_before_generating(client, integration_admin):
    connector = ConnectorFactory(name="Billing")
    client.force_login(integration_admin)
    url = f"/admin/connectors/connector/{connector.pk}/generate_webhook_secret_detail/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert Connector.objects.get().webhook_secret_encrypted == ""
    shown = client.post(url)
    assert shown.status_code == 200
    secret = re.search(r"whsec_[A-Za-z0-9_-]+", shown.content.decode()).group(0)
    assert connector_webhook_secret(connector=Connector.objects.get()) == secret


def test_finance_viewers_cannot_create_tokens(client, finance_viewer):
    connector = ConnectorFactory()
    client.force_login(finance_viewer)
    response = client.post(
        "/admin/connectors/apitoken/add/", {"connector": connector.pk, "name": "x"}
    )
    assert response.status_code == 403
    assert ApiToken.objects.count() == 0
