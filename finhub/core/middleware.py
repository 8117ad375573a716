from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponseBase


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    """Every page needs a logged-in user, except the API and views marked otherwise.

    The API authenticates itself (sessions or tokens) and answers 401/403 as JSON instead
    of redirecting to a login page; its permission classes are set in ``REST_FRAMEWORK``.
    """

    api_prefix = "/api/"

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[Any, Any],
    ) -> HttpResponseBase | None:
        if request.path_info.startswith(self.api_prefix):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def get_login_url(self, view_func: Callable[..., HttpResponseBase]) -> str:
        url: str = getattr(view_func, "login_url", None) or settings.LOGIN_URL
        return url
