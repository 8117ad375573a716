"""factory_boy factories shared by every test module."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from finhub.core import roles


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    is_staff = True
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


def user_with_role(role: str, **kwargs):
    return UserFactory(roles=[role], **kwargs)


ROLE_NAMES = (roles.FINANCE_VIEWER, roles.PROJECT_MANAGER, roles.INTEGRATION_ADMIN)


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "connectors.Connector"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Source {n}")
    kind = "erp"
    transport = "push_only"
