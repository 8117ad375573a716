"""The header bell: how many alerts fire now, for users who may see the Alerts page."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import cached_property

from alerts.selectors import firing_count

VIEW_PERMISSION = "alerts.view_alertinstance"


class AlertsBell:
    """Lazy: the count is read (one query) only when a template shows the bell, and never
    for an anonymous user or one without the view permission."""

    def __init__(self, request: HttpRequest) -> None:
        self._user = getattr(request, "user", None)

    @cached_property
    def visible(self) -> bool:
        user = self._user
        return bool(user is not None and user.is_authenticated and user.has_perm(VIEW_PERMISSION))

    @cached_property
    def count(self) -> int:
        return firing_count() if self.visible else 0


def alerts_bell(request: HttpRequest) -> dict[str, AlertsBell]:
    return {"alerts_bell": AlertsBell(request)}
