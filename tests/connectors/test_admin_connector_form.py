"""The connector admin form: configuration, write-only credentials, validated sync_config."""

import logging

import pytest
from django.contrib.admin.models import LogEntry

from connectors import schedules_service
from connectors.credentials import credentials_get, credentials_set
from connectors.models import Connector
from tests.connectors.admin_helpers import connector_form_data
from tests.factories import PullConnectorFactory

pytestmark = pytest.mark.django_db
ADD_URL = "/admin/connectors/connector/add/"
SECRET = "s3cr3t-T0ken-that-must-never-show"


def change_url(connector) -> str:
    return f"/admin/connectors/connector/{connector.pk}/change/"


def test_credentials_are_stored_encrypted_and_never_shown_or_logged(
    client, integration_admin, caplog
):
    client.force_login(integration_admin)
    caplog.set_level(logging.DEBUG)
    response = client.post(ADD_URL, connector_form_data(credential_token=SECRET))
    assert response.status_code == 302, response.content.decode()[:3000]
    connector = Connector.objects.get(name="ERP")
    assert credentials_get(connector) == {"token": SECRET}
    assert SECRET not in connector.credentials_encrypted
    assert connector.credentials_set_at is not None

    # A form re-rendered with errors does not echo it either.
    again = client.post(
        change_url(connector),
        connector_form_data(connector, base_url="", credential_token=SECRET + "-new"),
    )
    assert again.status_code == 200 and "needs the source" in again.content.decode()

    pages = [
        change_url(connector),
        "/admin/connectors/connector/",
        f"/admin/connectors/connector/{connector.pk}/history/",
        "/admin/connectors/syncrun/",
        "/admin/",
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert SECRET not in page.content.decode(), url
    assert "Set on" in client.get(change_url(connector)).content.decode()
    assert SECRET not in again.content.decode()
    for entry in LogEntry.objects.all():
        assert SECRET not in entry.change_message
        assert SECRET not in entry.object_repr
    assert SECRET not in caplog.text


def test_blank_credential_fields_keep_the_stored_ones(client, integration_admin):
    connector = PullConnectorFactory(name="Budget", auth_type="basic")
    credentials_set(connector, {"username": "finhub", "password": "old-pass"})
    set_at = Connector.objects.get(pk=connector.pk).credentials_set_at
    client.force_login(integration_admin)

    response = client.post(change_url(connector), connector_form_data(connector))
    assert response.status_code == 302
    connector.refresh_from_db()
    assert credentials_get(connector) == {"username": "finhub", "password": "old-pass"}
    assert connector.credentials_set_at == set_at

    # Only the password changes: the username is kept.
    response = client.post(
        change_url(connector), connector_form_data(connector, credential_password="new-pass")
    )
    assert response.status_code == 302
    connector.refresh_from_db()
    assert credentials_get(connector) == {"username": "finhub", "password": "new-pass"}
    assert connector.credentials_set_at > set_at


def test_switching_auth_type_requires_the_new_credentials(client, integration_admin):
    connector = PullConnectorFactory(name="ERP")
    credentials_set(connector, {"token": "t"})
    client.force_login(integration_admin)
    response = client.post(
        change_url(connector),
        connector_form_data(
            connector,
            auth_type="oauth2_client_credentials",
            token_url="http://127.0.0.1:8765/erp/oauth/token",
            credential_client_id="finhub",
        ),
    )
    assert response.status_code == 200
    assert "Required for OAuth2 client credentials" in response.content.decode()
    response = client.post(
        change_url(connector),
        connector_form_data(
            connector,
            auth_type="oauth2_client_credentials",
            token_url="http://127.0.0.1:8765/erp/oauth/token",
            credential_client_id="finhub",
            credential_client_secret="sandbox-erp-secret",
        ),
    )
    assert response.status_code == 302
    connector.refresh_from_db()
    assert credentials_get(connector) == {
        "client_id": "finhub",
        "client_secret": "sandbox-erp-secret",
    }


def test_sync_config_is_validated_on_save(client, integration_admin):
    connector = PullConnectorFactory(name="ERP")
    credentials_set(connector, {"token": "t"})
    client.force_login(integration_admin)
    bad = '{"entities": [{"entity": "no_such_entity", "resource": "x", "fields": {}}]}'
    response = client.post(change_url(connector), connector_form_data(connector, sync_config=bad))
    assert response.status_code == 200
    assert "unknown entity &#x27;no_such_entity&#x27;" in response.content.decode()
    good = (
        '{"entities": [{"entity": "departments", "resource": "departments", "fields": '
        '{"external_id": "id", "name": "name"}}]}'
    )
    response = client.post(change_url(connector), connector_form_data(connector, sync_config=good))
    assert response.status_code == 302, response.content.decode()[:3000]
    connector.refresh_from_db()
    assert connector.sync_config["entities"][0]["entity"] == "departments"


def test_reference_sources_and_required_source_fields(client, integration_admin):
    marketing = PullConnectorFactory(name="Marketing")
    crm = PullConnectorFactory(name="CRM")
    credentials_set(crm, {"token": "t"})
    client.force_login(integration_admin)
    response = client.post(
        change_url(crm), connector_form_data(crm, reference_sources=[marketing.pk])
    )
    assert response.status_code == 302
    assert list(crm.reference_sources.all()) == [marketing]
    # Not itself.
    response = client.post(change_url(crm), connector_form_data(crm, reference_sources=[crm.pk]))
    assert response.status_code == 200
    response = client.post(
        change_url(crm), connector_form_data(crm, transport="file_drop", drop_path="")
    )
    assert "needs the folder" in response.content.decode()


def test_a_finance_viewer_sees_but_cannot_change(client, finance_viewer):
    connector = PullConnectorFactory(name="ERP")
    schedules_service.connector_schedule_set(connector=connector, kind="interval", every_minutes=15)
    client.force_login(finance_viewer)
    page = client.get(change_url(connector))
    assert page.status_code == 200
    assert "Every 15 minutes" in page.content.decode()
    assert "Client secret" not in page.content.decode()  # no empty write-only fields
    response = client.post(change_url(connector), connector_form_data(connector, name="Hacked"))
    assert response.status_code == 403
    assert Connector.objects.get(pk=connector.pk).name == "ERP"
