"""The attribution read as columns (binary COPY on PostgreSQL, the ORM elsewhere) yields the
touchpoints and the results of the row-by-row read it replaced."""

import datetime as dt

import pytest

from metrics import selectors
from metrics.computations.attribution import (
    GROUP_BYS,
    MODELS,
    Touchpoint,
    TouchpointColumns,
    attribute,
    build_journeys,
)
from metrics.reports.attribution import AttributionContext
from records import models as m
from tests import factories as f
from tests.metrics.wiring.conftest import END, START, at

pytestmark = pytest.mark.django_db
LOOKBACK = dt.timedelta(days=90)


def rows_read_one_by_one(low, high) -> list[Touchpoint]:
    """The previous read: one Touchpoint per row, channel by name, else the campaign's."""
    channels = selectors.channel_names()
    campaigns, campaign_channel = selectors.campaign_names_and_channels()
    touchpoints = []
    for pk, contact, occurred_at, channel_id, campaign_id in m.Touchpoint.objects.filter(
        contact__isnull=False, occurred_at__gte=low, occurred_at__lt=high
    ).values_list("id", "contact_id", "occurred_at", "channel_id", "campaign_id"):
        if channel_id is None and campaign_id is not None:
            channel_id = campaign_channel.get(campaign_id)
        touchpoints.append(
            Touchpoint(
                pk,
                contact,
                occurred_at,
                channels.get(channel_id, selectors.NO_CHANNEL),
                campaigns.get(campaign_id, selectors.NO_CAMPAIGN),
            )
        )
    return touchpoints


@pytest.fixture
def extra_touchpoints(dataset):
    """Beyond the shared dataset: a campaign without a channel, a touchpoint with neither,
    equal times (ties by id), a contact-less and a soft-deleted touchpoint."""
    src = m.Channel.objects.get(name="Search").source
    orphan = f.CampaignFactory(source=src, name="Orphan", channel=None, channel_external_id="")
    contact = f.ContactFactory(source=src)
    f.TouchpointFactory(source=src, contact=contact, campaign=orphan, occurred_at=at(3, 2))
    f.TouchpointFactory(source=src, contact=contact, occurred_at=at(3, 2))
    f.TouchpointFactory(source=src, contact=None, occurred_at=at(3, 3))
    gone = f.TouchpointFactory(source=src, contact=contact, occurred_at=at(3, 4))
    m.Touchpoint.all_objects.filter(pk=gone.pk).update(deleted_at=at(3, 20))
    f.DealFactory(source=src, contact=contact, closed_at=at(3, 9))


def test_columns_hold_the_rows_of_the_one_by_one_read(extra_touchpoints):
    low, high = selectors.period_bounds(START, END)
    expected = rows_read_one_by_one(low - LOOKBACK, high)
    columns = selectors.attribution_touchpoints(low=low - LOOKBACK, high=high)
    by_id = sorted(columns.touchpoints(0, len(columns)), key=lambda t: t.touchpoint_id)
    assert by_id == sorted(expected, key=lambda t: t.touchpoint_id)
    assert {t.channel for t in expected} >= {"(no channel)", "Email", "Search"}


def test_every_model_gives_what_the_one_by_one_read_gave(extra_touchpoints):
    context = AttributionContext.read(start=START, end=END, lookback_days=LOOKBACK.days)
    low, high = selectors.period_bounds(START, END)
    reference = build_journeys(
        rows_read_one_by_one(low - LOOKBACK, high),
        context.inputs.conversions,
        lookback=LOOKBACK,
        window=(low, high - dt.timedelta(microseconds=1)),
    )
    assert isinstance(context.inputs.touchpoints, TouchpointColumns)
    for group_by in GROUP_BYS:
        for model in MODELS:
            assert attribute(context.journeys, model=model, group_by=group_by) == attribute(
                reference, model=model, group_by=group_by
            ), (model, group_by)
