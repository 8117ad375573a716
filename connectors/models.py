from django.db import models
from django.utils.text import slugify


class Connector(models.Model):
    """A source system FinHub pulls from or that pushes into FinHub.

    Every record that comes from outside names its connector as its source; the pair
    (source, external_id) identifies it, which is what makes re-sending safe.
    """

    class Kind(models.TextChoices):
        ERP = "erp", "ERP / general ledger"
        BUDGET = "budget", "Budget planning"
        CRM = "crm", "CRM / sales"
        MARKETING = "marketing", "Marketing automation"
        BILLING = "billing", "Billing / subscriptions"
        PRODUCT = "product", "Product development tracking"
        OTHER = "other", "Other"

    class Transport(models.TextChoices):
        REST_PULL = "rest_pull", "REST pull"
        FILE_DROP = "file_drop", "File drop / upload"
        PUSH_ONLY = "push_only", "Push only (API / webhooks)"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    transport = models.CharField(
        max_length=20, choices=Transport.choices, default=Transport.PUSH_ONLY
    )
    base_url = models.URLField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)


class ApiToken(models.Model):
    """A per-connector credential for the REST API, stored hashed and shown once.

    A token writes only to its own connector and only the entities it allows; reading is
    a separate grant. Scopes name other narrow rights (e.g. posting roadmap measurements).
    """

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the token, kept in clear to find the row; the rest is hashed.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=128)
    allowed_entities = models.JSONField(default=list, blank=True)
    can_write = models.BooleanField(default=True)
    can_read = models.BooleanField(default=False)
    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connector", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "name"], name="apitoken_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} / {self.name} ({self.prefix}…)"
