"""Re-encrypt every secret kept at rest with the first FINHUB_ENCRYPTION_KEY (key rotation).

Secrets live in model fields named ``*_encrypted`` (connector credentials and webhook
secrets, alert channel secrets, and any history copies): found by that name across the
installed apps, so an app added later is covered without this module importing it.
"""

from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import models, transaction

from connectors import crypto

SUFFIX = "_encrypted"


class RotationError(Exception):
    """Some values decrypt with none of the configured keys: nothing was changed."""


@dataclass(frozen=True)
class EncryptedField:
    model: type[models.Model]
    name: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.name}"


def encrypted_fields() -> list[EncryptedField]:
    return [
        EncryptedField(model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith(SUFFIX) and isinstance(field, models.TextField | models.CharField)
    ]


@transaction.atomic
def encrypted_fields_rotate() -> dict[str, int]:
    """Re-encrypt every non-empty value with the first key (any configured key decrypts).
    Returns field label -> values re-encrypted. All or nothing: raises RotationError naming
    the rows no key decrypts (add the key that made them, or clear those secrets)."""
    fernet = crypto.fernet()
    counts: dict[str, int] = {}
    undecryptable: list[str] = []
    for field in encrypted_fields():
        rows = (
            field.model._default_manager.exclude(**{field.name: ""})
            .exclude(**{f"{field.name}__isnull": True})
            .values_list("pk", field.name)
        )
        counts[field.label] = 0
        for pk, value in rows.iterator():
            try:
                rotated = fernet.rotate(value.encode()).decode()
            except InvalidToken:
                undecryptable.append(f"{field.label} pk={pk}")
                continue
            # update(), not save(): no history row, no signal, no updated_at change.
            field.model._default_manager.filter(pk=pk).update(**{field.name: rotated})
            counts[field.label] += 1
    if undecryptable:
        raise RotationError(
            "No configured FINHUB_ENCRYPTION_KEY decrypts: " + ", ".join(undecryptable)
        )
    return counts
