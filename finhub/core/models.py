from django.db import models


class AccessPolicy(models.Model):
    """Holds permissions that belong to no single model, such as reading dashboards.

    Unmanaged: it has no table, only its permissions, which roles grant like any other.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboards", "Can view finance dashboards and reports"),
        ]

    def __str__(self) -> str:
        return "FinHub access policy"


class Heartbeat(models.Model):
    """Last time a periodic task from a given source ran: proof the scheduler is alive."""

    source = models.CharField(max_length=100, unique=True)
    last_seen = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)
    hostname = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
