"""Factories of the reports app: packs, their items and schedules, archived files."""

import datetime
import hashlib
from pathlib import Path

import factory
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from finhub.core.calendar import MONTH, Period
from reports.models import ArchivedReport
from tests.factories import UserFactory

MARCH_2026 = Period(MONTH, datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
#: Two reports that build from an empty database (no snapshot needed): quick packs.
QUICK_REPORTS = ("roadmap_status", "product_roi")


def reports_storage_at(monkeypatch, folder: Path) -> FileSystemStorage:
    """Archive into ``folder`` (a test's tmp_path), so no test writes to var/reports. The
    field's storage is patched: Django resolves a callable storage once, as models load."""
    storage = FileSystemStorage(location=str(folder))
    monkeypatch.setattr(ArchivedReport._meta.get_field("file"), "storage", storage)
    return storage


def user_with_perms(*perms: str, **kwargs):
    """A user holding exactly ``perms`` ("app_label.codename")."""
    user = UserFactory(**kwargs)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Recipients {n}")


class ReportPackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reports.ReportPack"
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pack {n}")
    slug = factory.Sequence(lambda n: f"pack-{n}")

    @factory.post_generation
    def reports(self, create, extracted, **kwargs):
        """``ReportPackFactory(reports=("roadmap_status", ...))`` adds those items in order."""
        if create and extracted:
            for order, key in enumerate(extracted, start=1):
                PackItemFactory(pack=self, order=order, report=key)


class PackItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "reports.PackItem"

    pack = factory.SubFactory(ReportPackFactory)
    order = factory.Sequence(lambda n: n)
    report = "roadmap_status"
    params = factory.LazyFunction(dict)


class PackScheduleFactory(factory.django.DjangoModelFactory):
    """A schedule row only; tests of the beat task save it with pack_schedule_save."""

    class Meta:
        model = "reports.PackSchedule"
        skip_postgeneration_save = True

    pack = factory.SubFactory(ReportPackFactory, reports=QUICK_REPORTS)
    name = factory.Sequence(lambda n: f"Schedule {n}")
    formats = "pdf"
    method = "attachment"
    link_hours = 72
    period = "previous_month"

    @factory.post_generation
    def recipient_groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.recipient_groups.add(*extracted)

    @factory.post_generation
    def recipient_users(self, create, extracted, **kwargs):
        if create and extracted:
            self.recipient_users.add(*extracted)


class ArchivedReportFactory(factory.django.DjangoModelFactory):
    """An archived CSV whose size and checksum are those of ``content``."""

    class Meta:
        model = "reports.ArchivedReport"

    class Params:
        content = b"Report,Value\r\nRevenue,100.00\r\n"

    title = factory.Sequence(lambda n: f"Report {n}")
    report = "roadmap_status"
    period_start = MARCH_2026.start
    period_end = MARCH_2026.end
    parameters = factory.LazyFunction(dict)
    format = "csv"
    file = factory.LazyAttribute(lambda o: ContentFile(o.content, name=f"{o.title}.csv"))
    size = factory.LazyAttribute(lambda o: len(o.content))
    checksum = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    generated_by = factory.SubFactory(UserFactory)
    trigger = "manual"
