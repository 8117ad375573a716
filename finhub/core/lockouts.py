"""Login lockout (django-axes): the lockout page and the audited unlock.

Axes counts failed logins per username and per client address on both login pages
(settings: ``AXES_*``). After ``AXES_FAILURE_LIMIT`` failures either one is refused until
``AXES_COOLOFF_TIME`` passes without another failure, or an administrator unlocks it here:
the user admin's "Unlock login" action or ``manage.py unlock_login``. Each unlock is written
to the admin's history (a LogEntry naming who unlocked what) and to the log.
"""

import logging
import math
from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from axes.utils import reset
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def login_lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The lockout page (AXES_LOCKOUT_CALLABLE): 429 with Retry-After.

    The same for every username, existing or not, so it tells nobody which accounts exist.
    """
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else 0
    response = render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": get_failure_limit(request, credentials),
            "cooloff_minutes": max(1, math.ceil(seconds / 60)),
            "login_url": request.path,
        },
        status=429,
    )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def login_unlock(*, actor: AbstractBaseUser, username: str = "", ip_address: str = "") -> int:
    """Clear the failed logins of ``username`` and/or ``ip_address``; returns how many went.

    ``actor`` (the administrator unlocking) is recorded in the admin's history, on the
    user's own history when the username is an account's.
    """
    if not (username or ip_address):
        raise ValueError("Name a username, an address or both to unlock.")
    cleared = 0
    if username:
        cleared += reset(username=username)
    if ip_address:
        cleared += reset(ip=ip_address)
    what = " and ".join(
        part
        for part in (
            f"username {username!r}" if username else "",
            f"address {ip_address}" if ip_address else "",
        )
        if part
    )
    message = f"Unlocked login for {what} ({cleared} failed-login records cleared)."
    user = get_user_model().objects.filter(username=username).first() if username else None
    if user is not None:
        LogEntry.objects.log_actions(
            user_id=actor.pk, queryset=[user], action_flag=CHANGE, change_message=message
        )
    else:
        LogEntry.objects.create(
            user_id=actor.pk,
            object_repr=f"Login lockout of {what}"[:200],
            action_flag=CHANGE,
            change_message=message,
        )
    logger.warning("%s By %s.", message, actor.get_username())
    return cleared
