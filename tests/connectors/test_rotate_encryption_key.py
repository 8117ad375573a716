from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from connectors import crypto
from connectors.credentials import credentials_get, credentials_set
from connectors.key_rotation import encrypted_fields
from connectors.services import connector_webhook_secret, connector_webhook_secret_rotate
from tests.alerts.factories import NotificationChannelFactory
from tests.factories import PullConnectorFactory

pytestmark = pytest.mark.django_db

OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))
CREDENTIALS = {"token": "s3cret-token"}


@pytest.fixture
def secrets_under_old_key(settings):
    settings.FINHUB_ENCRYPTION_KEY = OLD
    connector = PullConnectorFactory()
    credentials_set(connector, CREDENTIALS)
    webhook_secret = connector_webhook_secret_rotate(connector=connector)
    channel = NotificationChannelFactory(kind="webhook", secret_encrypted=crypto.encrypt("hook"))
    return connector, webhook_secret, channel


def test_every_encrypted_field_is_found():
    labels = {field.label for field in encrypted_fields()}
    assert {
        "connectors.Connector.credentials_encrypted",
        "connectors.Connector.webhook_secret_encrypted",
        "alerts.NotificationChannel.secret_encrypted",
    } <= labels


def test_rotation_lets_the_old_key_go(settings, secrets_under_old_key):
    connector, webhook_secret, channel = secrets_under_old_key
    settings.FINHUB_ENCRYPTION_KEY = NEW  # the old key removed too early: secrets unreadable
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(channel.secret_encrypted)

    settings.FINHUB_ENCRYPTION_KEY = f"{NEW},{OLD}"
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "connectors.Connector.credentials_encrypted: 1 re-encrypted" in out.getvalue()
    assert "alerts.NotificationChannel.secret_encrypted: 1 re-encrypted" in out.getvalue()

    settings.FINHUB_ENCRYPTION_KEY = NEW
    connector.refresh_from_db()
    channel.refresh_from_db()
    assert credentials_get(connector) == CREDENTIALS
    assert connector_webhook_secret(connector=connector) == webhook_secret
    assert crypto.decrypt(channel.secret_encrypted) == "hook"


def test_a_value_no_key_decrypts_stops_the_rotation_and_changes_nothing(
    settings, secrets_under_old_key
):
    connector, _, channel = secrets_under_old_key
    settings.FINHUB_ENCRYPTION_KEY = STRANGER
    channel.secret_encrypted = crypto.encrypt("made with a key nobody configured")
    channel.save()
    before = connector.__class__.objects.values_list("credentials_encrypted", flat=True).get()

    settings.FINHUB_ENCRYPTION_KEY = f"{NEW},{OLD}"
    with pytest.raises(
        CommandError, match=rf"NotificationChannel.secret_encrypted pk={channel.pk}"
    ):
        call_command("rotate_encryption_key")
    after = connector.__class__.objects.values_list("credentials_encrypted", flat=True).get()
    assert after == before
