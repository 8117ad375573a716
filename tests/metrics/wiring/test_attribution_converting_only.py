"""The attribution read of the converting contacts only (a context that serves no markov
model) gives exactly the reports of the full read: same rows, zero rows included, same
unattributed and missing-FX deals."""

from decimal import Decimal

import pytest

from metrics import selectors
from metrics.computations.attribution import (
    GROUP_BYS,
    MARKOV,
    MODELS,
    AttributionError,
)
from metrics.models import MetricSnapshot
from metrics.params import attribution_params, params_hash
from metrics.reports.attribution import AttributionContext, attribution_report
from metrics.reports.roi import roi_report
from metrics.snapshots import attribution_snapshots_store, snapshot_compute
from records import models as m
from tests import factories as f
from tests.metrics.wiring.conftest import END, START, at

pytestmark = pytest.mark.django_db
Kind = MetricSnapshot.Kind
LOOKBACK_DAYS = 90
NOT_MARKOV = [model for model in MODELS if model != MARKOV]

#: Touchpoints of contacts without a won deal in the period (or outside the range), each
#: the only one with its channel / campaign key: what the converting read does not see.
EXTRAS = (
    "channel_only_elsewhere",  # a channel only a non-converting contact touched
    "campaign_only_elsewhere",  # a campaign (and via it, without a channel, a channel)
    "no_channel_no_campaign",  # neither: NO_CHANNEL and NO_CAMPAIGN
    "deleted_channel",  # a soft-deleted channel: NO_CHANNEL
    "deleted_campaign",  # a soft-deleted campaign, no channel: NO_CAMPAIGN and NO_CHANNEL
    "outside_range",  # keys seen only before the lookback, after the period or unlinked
    "missing_fx_contact",  # the contact of a deal left out for want of an FX rate
)


@pytest.fixture
def data(dataset, request):
    """The shared dataset (converting and non-converting contacts, a touchpoint before the
    lookback, a deal without touchpoints) plus a deal without a contact, touchpoints before
    the lookback and the extra described by the parameter."""
    src = dataset
    search = m.Channel.objects.get(name="Search")
    a = m.Contact.objects.get(name="A")
    f.DealFactory(source=src, contact=None, contact_external_id="", closed_at=at(3, 11))
    spring = m.Campaign.objects.get(name="Spring")
    for moment in (at(11, 1, year=2025), at(3, 10, 12)):  # before the lookback; a tie
        f.TouchpointFactory(
            source=src, contact=a, channel=search, campaign=spring, occurred_at=moment
        )
    extra = request.param
    other = f.ContactFactory(source=src)
    if extra == "channel_only_elsewhere":
        display = f.ChannelFactory(source=src, name="Display")
        f.TouchpointFactory(source=src, contact=other, channel=display, occurred_at=at(2, 1))
    elif extra == "campaign_only_elsewhere":
        social = f.ChannelFactory(source=src, name="Social")
        launch = f.CampaignFactory(source=src, name="Launch", channel=social)
        f.TouchpointFactory(source=src, contact=other, campaign=launch, occurred_at=at(3, 3))
    elif extra == "no_channel_no_campaign":
        f.TouchpointFactory(source=src, contact=other, occurred_at=at(3, 3))
    elif extra == "deleted_channel":
        gone = f.ChannelFactory(source=src, name="Gone")
        f.TouchpointFactory(source=src, contact=other, channel=gone, occurred_at=at(3, 3))
        m.Channel.all_objects.filter(pk=gone.pk).update(deleted_at=at(3, 30))
    elif extra == "deleted_campaign":
        gone = f.CampaignFactory(source=src, name="Gone", channel=None, channel_external_id="")
        f.TouchpointFactory(source=src, contact=other, campaign=gone, occurred_at=at(3, 3))
        m.Campaign.all_objects.filter(pk=gone.pk).update(deleted_at=at(3, 30))
    elif extra == "outside_range":
        old = f.ChannelFactory(source=src, name="Old")
        f.TouchpointFactory(
            source=src, contact=other, channel=old, occurred_at=at(11, 30, year=2025)
        )
        f.TouchpointFactory(source=src, contact=other, channel=old, occurred_at=at(4, 1, 0))
        f.TouchpointFactory(source=src, contact=None, channel=old, occurred_at=at(3, 3))
    elif extra == "missing_fx_contact":
        display = f.ChannelFactory(source=src, name="Display")
        f.TouchpointFactory(source=src, contact=other, channel=display, occurred_at=at(3, 3))
        f.DealFactory(source=src, contact=other, currency_id="EUR", closed_at=at(3, 29))
    return extra


def read(models=None) -> AttributionContext:
    return AttributionContext.read(start=START, end=END, lookback_days=LOOKBACK_DAYS, models=models)


@pytest.mark.parametrize("data", EXTRAS, indirect=True)
def test_every_model_but_markov_reports_what_the_full_read_reports(data):
    full = read()
    for model in NOT_MARKOV:
        converting = read(models=(model,))
        assert converting.journeys.group_keys == full.journeys.group_keys, model
        for group_by in GROUP_BYS:
            for report in (attribution_report, roi_report):
                variant = {"model": model, "group_by": group_by, "half_life_days": "7"}
                assert report(converting, **variant) == report(full, **variant), (
                    model,
                    group_by,
                    report.__name__,
                )
    # Each extra matters: a key of the full read that the converting contacts' rows lack
    # (found by a probe), or, outside the range, one that must stay out.
    keys = full.journeys.group_keys
    lacked = {
        "channel_only_elsewhere": {"Display"},
        "campaign_only_elsewhere": {"Social", "Launch"},
        "no_channel_no_campaign": {selectors.NO_CHANNEL, selectors.NO_CAMPAIGN},
        "deleted_channel": {selectors.NO_CHANNEL},
        "deleted_campaign": {selectors.NO_CHANNEL, selectors.NO_CAMPAIGN},
        "missing_fx_contact": {"Display"},
    }.get(data, set())
    assert lacked <= {*keys["channel"], *keys["campaign"]}
    assert not lacked & _read_keys(read(models=("linear",))), "the converting rows have it"
    if data == "outside_range":
        assert "Old" not in keys["channel"]
    if data == "missing_fx_contact":
        assert full.inputs.missing_fx


def _read_keys(context: AttributionContext) -> set[str]:
    columns = context.inputs.touchpoints
    return {columns.channel_names[c] for c in columns.channels.tolist()} | {
        columns.campaign_names[c] for c in columns.campaigns.tolist()
    }


@pytest.mark.parametrize("data", ["channel_only_elsewhere"], indirect=True)
def test_reads_only_the_converting_contacts_touchpoints(data):
    full = read()
    converting = read(models=("linear", "time_decay"))
    contacts = {c.contact_id for c in full.inputs.conversions if type(c.contact_id) is int}
    rows = full.inputs.touchpoints
    expected = sorted(
        pk
        for pk, contact in zip(rows.ids.tolist(), rows.contacts.tolist(), strict=True)
        if contact in contacts
    )
    assert sorted(converting.inputs.touchpoints.ids.tolist()) == expected
    assert 0 < len(expected) < len(rows)
    assert set(converting.inputs.touchpoints.contacts.tolist()) <= contacts
    assert converting.inputs.conversions == full.inputs.conversions


@pytest.mark.parametrize("data", ["outside_range"], indirect=True)
def test_no_probe_when_the_converting_rows_have_every_key(data, django_assert_num_queries):
    # Every key (Search, Email, Spring, Newsletter, Dud... and the empty ones) — the
    # converting contacts' rows lack some, so one read of each kind of probe runs; with
    # every campaign and channel deleted but those they touch, none runs.
    converting = read(models=("linear",))
    present = _read_keys(converting)
    m.Channel.objects.exclude(name__in=present).update(deleted_at=at(3, 30))
    m.Campaign.objects.exclude(name__in=present).update(deleted_at=at(3, 30))
    src = m.Channel.objects.get(name="Search").source
    f.TouchpointFactory(source=src, contact=m.Contact.objects.get(name="A"), occurred_at=at(3, 9))
    # won deals, FX rates, touchpoints, channel and campaign names: no probe.
    with django_assert_num_queries(5):
        context = read(models=("linear",))
    assert context.journeys.group_keys == read().journeys.group_keys


@pytest.mark.parametrize("data", ["no_channel_no_campaign"], indirect=True)
def test_markov_refuses_a_converting_only_context(data):
    context = read(models=("linear",))
    with pytest.raises(AttributionError, match="markov"):
        context.attribute(model=MARKOV, group_by="channel", half_life_days="7")
    assert read(models=MODELS).journeys.null_columns is not None


@pytest.mark.parametrize("data", ["campaign_only_elsewhere"], indirect=True)
def test_snapshot_compute_reads_converting_only_and_markov_reads_all(data):
    computed = {}
    for model in ("linear", MARKOV):
        for kind in (Kind.ATTRIBUTION, Kind.CAMPAIGN_ROI):
            params = attribution_params(
                start=START, end=END, lookback_days=LOOKBACK_DAYS, model=model,
                group_by="campaign", half_life_days=Decimal(7),
            )  # fmt: skip
            computed[kind, params_hash(params)] = (
                params,
                snapshot_compute(kind=kind, params=params).result,
            )
    # The same requests from one full read (the batch path, unchanged).
    stored = attribution_snapshots_store(
        read(), [(kind, params) for (kind, _h), (params, _r) in computed.items()]
    )
    for key, (_params, result) in computed.items():
        assert stored[key].result == result, key
