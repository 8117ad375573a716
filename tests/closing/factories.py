"""Factories of the close: templates with tasks, closes (opened through the service)."""

import datetime as dt

import factory

from closing.models import Close, CloseTask, CloseTemplate, CloseTemplateTask


class CloseTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloseTemplate
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Template {n}")


class CloseTemplateTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloseTemplateTask
        skip_postgeneration_save = True

    template = factory.SubFactory(CloseTemplateFactory)
    key = factory.Sequence(lambda n: f"task-{n}")
    name = factory.LazyAttribute(lambda t: t.key.replace("-", " ").capitalize())
    kind = "manual"
    action = ""
    due_working_day = 1
    order = factory.Sequence(lambda n: n)

    @factory.post_generation
    def depends_on(self, create, extracted, **kwargs):
        if create and extracted:
            self.depends_on.add(*extracted)


class CloseFactory(factory.django.DjangoModelFactory):
    """A close row without tasks (tests that need tasks open one with close_create)."""

    class Meta:
        model = Close

    month = factory.Sequence(lambda n: dt.date(2020 + n // 12, n % 12 + 1, 1))
    template = factory.SubFactory(CloseTemplateFactory)


class CloseTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloseTask

    close = factory.SubFactory(CloseFactory)
    key = factory.Sequence(lambda n: f"task-{n}")
    name = factory.LazyAttribute(lambda t: t.key)
    kind = "manual"
    due_date = factory.LazyAttribute(lambda t: t.close.month)
