from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission, DjangoModelPermissions

if TYPE_CHECKING:
    # Not at run time: DRF imports this module while rest_framework.views is still loading.
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ModelPermissionsIncludingView(DjangoModelPermissions):
    """Django model permissions for every method, reads included (``view_<model>``).

    DRF's default lets any authenticated user read; FinHub's finance data is not for
    everyone, so GET needs the view permission too.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def has_perm(perm: str) -> type[BasePermission]:
    """A permission class requiring one Django permission, for views without a model."""

    class HasPerm(BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            return bool(request.user and request.user.has_perm(perm))

    HasPerm.__name__ = f"HasPerm[{perm}]"
    return HasPerm
