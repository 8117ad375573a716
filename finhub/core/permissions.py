from rest_framework.permissions import BasePermission, DjangoModelPermissions


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
        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.has_perm(perm))

    HasPerm.__name__ = f"HasPerm[{perm}]"
    return HasPerm
