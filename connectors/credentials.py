"""A connector's credentials for its source (token, password, API key, client secret).

Kept as Fernet-encrypted JSON in ``Connector.credentials_encrypted`` (connectors/crypto.py):
readable by the sync, which must send them, but never stored in clear, shown again or
logged. The expected keys per auth type are in ``CREDENTIAL_KEYS``.
"""

from __future__ import annotations

import json

from django.utils import timezone

from connectors import crypto
from connectors.models import Connector

CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    Connector.AuthType.NONE: (),
    Connector.AuthType.BEARER: ("token",),
    Connector.AuthType.BASIC: ("username", "password"),
    Connector.AuthType.API_KEY: ("api_key",),
    Connector.AuthType.OAUTH2: ("client_id", "client_secret"),
}


class CredentialsError(Exception):
    """The stored credentials cannot be read (wrong key, corrupt value, not a JSON object)."""


def credentials_set(connector: Connector, credentials: dict, *, save: bool = True) -> None:
    """Encrypt and store ``credentials`` (a flat dict of strings); an empty dict clears them.

    ``save=False`` only sets the fields (for a form that saves the connector itself).
    """
    if not isinstance(credentials, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in credentials.items()
    ):
        raise CredentialsError("Credentials must be a mapping of names to strings.")
    if credentials:
        connector.credentials_encrypted = crypto.encrypt(json.dumps(credentials, sort_keys=True))
        connector.credentials_set_at = timezone.now()
    else:
        connector.credentials_encrypted = ""
        connector.credentials_set_at = None
    if save:
        connector.save(update_fields=["credentials_encrypted", "credentials_set_at", "updated_at"])


def credentials_get(connector: Connector) -> dict:
    """The decrypted credentials ({} when none are stored)."""
    if not connector.credentials_encrypted:
        return {}
    try:
        value = json.loads(crypto.decrypt(connector.credentials_encrypted))
    except crypto.DecryptionError as exc:
        raise CredentialsError(
            f"The credentials of connector {connector.name!r} cannot be decrypted "
            "(wrong FINHUB_ENCRYPTION_KEY?): set them again."
        ) from exc
    except ValueError as exc:
        raise CredentialsError(
            f"The credentials of connector {connector.name!r} are not valid JSON: set them again."
        ) from exc
    if not isinstance(value, dict):
        raise CredentialsError(
            f"The credentials of connector {connector.name!r} are not a JSON object."
        )
    return value


def credentials_missing(connector: Connector, credentials: dict) -> list[str]:
    """The keys the connector's auth type needs that ``credentials`` lacks."""
    needed = CREDENTIAL_KEYS.get(connector.auth_type, ())
    return [key for key in needed if not credentials.get(key)]
