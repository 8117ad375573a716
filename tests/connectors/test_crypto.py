"""Secrets encrypted at rest (connectors/crypto.py) and the production key requirement."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import override_settings

from connectors import crypto
from connectors.services import connector_webhook_secret, connector_webhook_secret_rotate
from tests.factories import ConnectorFactory


def test_round_trip_and_the_ciphertext_hides_the_plaintext():
    token = crypto.encrypt("whsec_abc")
    assert "whsec_abc" not in token
    assert crypto.decrypt(token) == "whsec_abc"
    assert crypto.encrypt("whsec_abc") != token  # random IV


def test_another_key_cannot_decrypt():
    token = crypto.encrypt("whsec_abc")
    other_key = Fernet.generate_key().decode()
    with override_settings(FINHUB_ENCRYPTION_KEY=other_key), pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_keys_rotate_the_first_encrypts_all_decrypt():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FINHUB_ENCRYPTION_KEY=old):
        token = crypto.encrypt("s")
    with override_settings(FINHUB_ENCRYPTION_KEY=f"{new},{old}"):
        assert crypto.decrypt(token) == "s"
        fresh = crypto.encrypt("s")
    with override_settings(FINHUB_ENCRYPTION_KEY=new):
        assert crypto.decrypt(fresh) == "s"


def test_a_malformed_key_fails_loudly():
    from django.core.exceptions import ImproperlyConfigured

    with (
        override_settings(FINHUB_ENCRYPTION_KEY="not-a-key"),
        pytest.raises(ImproperlyConfigured, match="Fernet"),
    ):
        crypto.encrypt("s")


@pytest.mark.django_db
def test_the_webhook_secret_is_stored_encrypted():
    connector = ConnectorFactory()
    secret = connector_webhook_secret_rotate(connector=connector)
    connector.refresh_from_db()
    assert secret.startswith("whsec_")
    assert secret not in connector.webhook_secret_encrypted
    assert connector_webhook_secret(connector=connector) == secret
    assert connector.webhook_secret_set_at is not None


def test_production_requires_an_encryption_key():
    env = {k: v for k, v in os.environ.items() if k != "FINHUB_ENCRYPTION_KEY"}
    env.update(DJANGO_ENV="production", SECRET_KEY="x" * 60, ALLOWED_HOSTS="example.com")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "FINHUB_ENCRYPTION_KEY" in result.stderr
