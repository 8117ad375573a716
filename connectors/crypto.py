"""Encryption at rest for secrets FinHub must read back in clear (webhook signing secrets).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``). The key comes from the
``FINHUB_ENCRYPTION_KEY`` setting: required in production; in development and tests a key
is derived from SECRET_KEY so nothing needs configuring. Several comma-separated keys may be
given to rotate: the first encrypts, all decrypt.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """The ciphertext was not made with any configured key (or was tampered with)."""


def derived_development_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(f"finhub-encryption:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def _fernet_for(configured: str, secret_key: str) -> MultiFernet:
    if configured:
        keys = [k.strip() for k in configured.split(",") if k.strip()]
    else:
        keys = [derived_development_key(secret_key).decode()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FINHUB_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each), e.g. from "
            "cryptography.fernet.Fernet.generate_key()"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(settings.FINHUB_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "Cannot decrypt: wrong FINHUB_ENCRYPTION_KEY or corrupt value"
        ) from exc
