"""Attribution per close day: the report of any period inside the covered range, rebuilt from
the days, is exactly the live report of that period (every model but markov, both
groupings); and the period's group keys come from a few probes, equal to the live read's."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.utils import timezone

from metrics import selectors
from metrics.computations.attribution import GROUP_BYS, MARKOV, MODELS
from metrics.incremental import TOUCHPOINT
from metrics.models import ChangedMonth, MetricSnapshot
from metrics.params import GROUP_BY_CAMPAIGN, LINEAR, attribution_params
from metrics.period_cuts import period_cut
from metrics.reports.attribution import AttributionContext, attribution_report
from metrics.reports.attribution_days import attribution_days_report, attribution_from_days
from metrics.snapshots import COMPUTERS, snapshot_compute
from records import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db
Kind = MetricSnapshot.Kind

NOT_MARKOV = [model for model in MODELS if model != MARKOV]
LOOKBACK_DAYS = 30
FIRST, LAST = dt.date(2026, 2, 1), dt.date(2026, 4, 30)
PARIS = "Europe/Paris"
#: Local (Paris) days with a won deal in the data below.
DEAL_DAYS = (
    dt.date(2026, 2, 3),
    dt.date(2026, 2, 14),
    dt.date(2026, 3, 3),
    dt.date(2026, 3, 10),
    dt.date(2026, 3, 11),
    dt.date(2026, 3, 29),
    dt.date(2026, 4, 15),
    dt.date(2026, 4, 30),
)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


def periods() -> list[tuple[dt.date, dt.date]]:
    """Single days (with and without deals), the whole range, periods at its edges, one
    without a deal, and random ones (fixed seed)."""
    chosen = [(day, day) for day in DEAL_DAYS]
    chosen += [
        (FIRST, FIRST),  # no deal
        (FIRST, LAST),
        (FIRST, dt.date(2026, 3, 10)),
        (dt.date(2026, 3, 11), LAST),
        (dt.date(2026, 3, 12), dt.date(2026, 3, 28)),  # no deal
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        (LAST, LAST),
    ]
    rng = random.Random(20260301)
    span = (LAST - FIRST).days
    for _ in range(12):
        low, high = sorted(rng.sample(range(span + 1), 2))
        chosen.append((FIRST + dt.timedelta(days=low), FIRST + dt.timedelta(days=high)))
    return chosen


@pytest.fixture
def paris(settings):
    settings.TIME_ZONE = PARIS
    timezone.activate(PARIS)
    yield
    timezone.deactivate()


@pytest.fixture
def data(paris, settings):
    """Channels Search, Email, Social and Gone (soft-deleted); campaigns Spring (Search),
    Newsletter (Email: touched without a channel, so the channel comes from it), Orphan (no
    channel) and Closed (Social, soft-deleted). Contacts with several touchpoints (some
    before the lookback, one after its deal, equal times), a contact with two deals, deals
    in EUR, a deal without a contact, one without touchpoints, a lost deal, touchpoints
    without a contact and of a non-converting contact only, and deals closing late in the
    UTC evening (the next local day in Paris)."""
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    src = f.ConnectorFactory(name="crm")
    search = f.ChannelFactory(source=src, name="Search")
    email = f.ChannelFactory(source=src, name="Email")
    social = f.ChannelFactory(source=src, name="Social")
    gone = f.ChannelFactory(source=src, name="Gone")
    spring = f.CampaignFactory(source=src, name="Spring", channel=search)
    newsletter = f.CampaignFactory(source=src, name="Newsletter", channel=email)
    orphan = f.CampaignFactory(source=src, name="Orphan", channel=None, channel_external_id="")
    closed = f.CampaignFactory(source=src, name="Closed", channel=social)
    for day, rate in (((2, 14), "1.0900"), ((3, 11), "1.1000"), ((4, 15), "1.1234567891")):
        f.FxRateFactory(source=src, currency_id="EUR", date=dt.date(2026, *day), rate=rate)
    a, b, c, d, e, g, h = (f.ContactFactory(source=src, name=name) for name in "ABCDEGH")

    def touch(contact, moment, *, channel=None, campaign=None):
        f.TouchpointFactory(
            source=src, contact=contact, channel=channel, campaign=campaign, occurred_at=moment
        )

    def won(contact, amount, closed_at, currency="USD", status="won"):
        f.DealFactory(
            source=src,
            contact=contact,
            contact_external_id="" if contact is None else contact.external_id,
            amount=Decimal(amount),
            currency_id=currency,
            status=status,
            opened_at=at(1, 2),
            closed_at=closed_at,
        )

    # A: five touches (one before the lookback of its first deal, a tie), two deals.
    touch(a, at(1, 2), channel=email)  # before the 30-day lookback of every deal
    touch(a, at(1, 20), channel=search, campaign=spring)
    touch(a, at(1, 25), campaign=newsletter)  # channel Email via the campaign
    touch(a, at(2, 1, 9), channel=social, campaign=closed)
    touch(a, at(2, 1, 9), channel=search)  # same time: ordered by id
    won(a, "1000.00", at(2, 3))
    touch(a, at(2, 20), campaign=orphan)  # neither channel of its own nor the campaign's
    won(a, "333.33", at(3, 2, 23, 30))  # 2 Mar 23:30 UTC: 3 Mar 00:30 in Paris
    # B: EUR deal on 14 Feb after touches of a soft-deleted channel and a plain one.
    touch(b, at(1, 30), channel=gone)
    touch(b, at(2, 10), channel=email, campaign=newsletter)
    touch(b, at(2, 13, 22), channel=search)
    won(b, "999.99", at(2, 14, 12), currency="EUR")
    # C: touches without channel or campaign; deals on 10 and 11 Mar (local).
    touch(c, at(3, 1))
    touch(c, at(3, 5), channel=social)
    touch(c, at(3, 9, 8), campaign=spring)
    won(c, "0.05", at(3, 10, 9))
    won(c, "250.00", at(3, 10, 23, 15), currency="EUR")  # 11 Mar in Paris, EUR at 1.10
    # D: no touchpoints: unattributed. E: touches only after its deal: unattributed.
    won(d, "77.70", at(3, 11, 12))
    touch(e, at(3, 30), channel=search)
    won(e, "12.34", at(3, 29, 12))
    # G: a long journey (position-based middles, time-decay spread) closing 15 Apr in EUR.
    for index, day in enumerate((16, 18, 20, 22, 24, 26, 28)):
        channel, campaign = [(search, spring), (email, None), (None, newsletter)][index % 3]
        touch(g, at(3, day), channel=channel, campaign=campaign)
    touch(g, at(4, 14), channel=social)
    won(g, "1234.56", at(4, 15, 6), currency="EUR")
    # Last day: a deal without a contact (unattributed) and H, a contact touched by
    # the soft-deleted campaign the day before.
    won(None, "40.00", at(4, 30, 12))
    touch(h, at(4, 29), campaign=closed)
    won(h, "19.99", at(4, 30, 13))
    won(h, "500.00", at(4, 1), status="lost")
    # Not converting, not linked, before every lookback: keys only probes can find.
    other = f.ContactFactory(source=src)
    touch(other, at(2, 25), channel=social)
    f.TouchpointFactory(source=src, contact=None, channel=gone, occurred_at=at(4, 2))
    old = f.ChannelFactory(source=src, name="Old")
    touch(other, dt.datetime(2025, 11, 1, tzinfo=dt.UTC), channel=old)
    m.Channel.all_objects.filter(pk=gone.pk).update(deleted_at=at(4, 30))
    m.Campaign.all_objects.filter(pk=closed.pk).update(deleted_at=at(4, 30))
    return src


def live(start: dt.date, end: dt.date) -> AttributionContext:
    return AttributionContext.read(
        start=start, end=end, lookback_days=LOOKBACK_DAYS, models=NOT_MARKOV
    )


def days_reports(half_life_days: str) -> dict[tuple[str, str], dict]:
    whole = live(FIRST, LAST)
    assert not whole.inputs.missing_fx
    return {
        (model, group_by): attribution_days_report(
            whole, model=model, group_by=group_by, half_life_days=half_life_days
        )
        for model in NOT_MARKOV
        for group_by in GROUP_BYS
    }


def test_the_data_has_what_the_comparison_needs(data):
    whole = live(FIRST, LAST)
    local_days = {selectors.local_date(c.converted_at) for c in whole.inputs.conversions}
    assert local_days == set(DEAL_DAYS)
    assert len(whole.journeys.unattributed) == 3  # D, E and the deal without a contact
    keys = whole.inputs.group_keys
    assert {selectors.NO_CHANNEL, selectors.NO_CAMPAIGN} <= {*keys["channel"], *keys["campaign"]}
    assert "Gone" not in keys["channel"] and "Closed" not in keys["campaign"]
    assert "Old" not in keys["channel"]


@pytest.mark.parametrize("half_life_days", ["7", "2.5"])
def test_every_period_from_the_days_is_the_live_report(data, half_life_days):
    reports = days_reports(half_life_days)
    for start, end in periods():
        context = live(start, end)
        keys = selectors.attribution_period_group_keys(
            start=start, end=end, lookback=dt.timedelta(days=LOOKBACK_DAYS)
        )
        assert keys == context.inputs.group_keys, (start, end)
        for (model, group_by), days in reports.items():
            variant = {"model": model, "group_by": group_by, "half_life_days": half_life_days}
            expected = attribution_report(context, **variant)
            got = attribution_from_days(days, start=start, end=end, group_keys=keys[group_by])
            assert got == expected, (start, end, model, group_by)


def test_dropping_a_day_changes_the_report(data):
    """The comparison above sees every day: without one day's credits it fails."""
    days = days_reports("7")["linear", "channel"]
    keys = selectors.attribution_period_group_keys(
        start=FIRST, end=LAST, lookback=dt.timedelta(days=LOOKBACK_DAYS)
    )["channel"]
    expected = attribution_report(
        live(FIRST, LAST), model="linear", group_by="channel", half_life_days="7"
    )
    assert attribution_from_days(days, start=FIRST, end=LAST, group_keys=keys) == expected
    for day in DEAL_DAYS:
        dropped = {**days, "days": {k: v for k, v in days["days"].items() if k != str(day)}}
        assert attribution_from_days(dropped, start=FIRST, end=LAST, group_keys=keys) != expected


def test_days_report_is_json_and_per_local_close_day(data):
    import json

    days = days_reports("7")["linear", "campaign"]
    assert json.loads(json.dumps(days)) == days
    assert set(days["days"]) == {day.isoformat() for day in DEAL_DAYS}
    assert (days["start"], days["end"], days["lookback_days"]) == (
        FIRST.isoformat(),
        LAST.isoformat(),
        LOOKBACK_DAYS,
    )
    assert days["reporting_currency"] == "USD" and days["missing_fx"] == []
    # 2 Mar 23:30 UTC is 3 Mar in Paris.
    assert days["days"]["2026-03-03"]["attributed_count"] == 1
    assert days["days"]["2026-04-30"]["unattributed_count"] == 1


def test_markov_is_refused(data):
    with pytest.raises(ValueError, match="markov"):
        attribution_days_report(
            live(FIRST, LAST), model=MARKOV, group_by="channel", half_life_days="7"
        )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (FIRST - dt.timedelta(days=1), LAST),
        (FIRST, LAST + dt.timedelta(days=1)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 1)),  # empty
    ],
)
def test_a_period_outside_the_days_is_refused(data, start, end):
    days = days_reports("7")["linear", "channel"]
    with pytest.raises(ValueError):
        attribution_from_days(days, start=start, end=end, group_keys=())


def test_days_with_missing_fx_are_refused(data):
    f.DealFactory(
        source=m.Channel.objects.get(name="Search").source,
        contact=None,
        contact_external_id="",
        currency_id="GBP",
        closed_at=at(3, 20),
    )
    whole = live(FIRST, LAST)
    assert whole.inputs.missing_fx
    days = attribution_days_report(whole, model="linear", group_by="channel", half_life_days="7")
    assert days["missing_fx"] == whole.inputs.missing_fx
    with pytest.raises(ValueError, match="FX"):
        attribution_from_days(days, start=FIRST, end=LAST, group_keys=())


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (FIRST, LAST),
        (FIRST, FIRST),
        (dt.date(2026, 3, 10), dt.date(2026, 3, 11)),
        (dt.date(2026, 4, 30), dt.date(2026, 4, 30)),
        (dt.date(2026, 6, 1), dt.date(2026, 6, 30)),  # no touchpoint in range
        (dt.date(2025, 11, 15), dt.date(2025, 11, 30)),  # only the old one
    ],
)
def test_period_group_keys_are_the_live_reads(data, start, end, django_assert_max_num_queries):
    lookback = dt.timedelta(days=LOOKBACK_DAYS)
    with django_assert_max_num_queries(9):
        keys = selectors.attribution_period_group_keys(start=start, end=end, lookback=lookback)
    assert keys == live(start, end).inputs.group_keys


def test_snapshots_cut_a_custom_period_from_the_whole_history(data):
    """Wired: a missing attribution snapshot is cut from the stored per-day one of the same
    parameters but the dates (``metrics.period_cuts``) while no change it reads waits."""
    ChangedMonth.objects.all().delete()  # the factories' writes: as if recomputed
    whole = attribution_params(
        model=LINEAR, start=FIRST, end=LAST, lookback_days=LOOKBACK_DAYS, half_life_days=7
    )
    snapshot_compute(kind=Kind.ATTRIBUTION_DAYS, params=whole)
    for start, end in periods():
        params = {**whole, "start": start.isoformat(), "end": end.isoformat()}
        cut = period_cut(Kind.ATTRIBUTION, params)
        assert cut is not None, (start, end)
        assert cut[0] == COMPUTERS[Kind.ATTRIBUTION](params)
    campaign = {**params, "group_by": GROUP_BY_CAMPAIGN}  # no per-day report of campaigns
    assert period_cut(Kind.ATTRIBUTION, campaign) is None
    ChangedMonth.objects.create(table=TOUCHPOINT, month=dt.date(2026, 3, 1))
    assert period_cut(Kind.ATTRIBUTION, params) is None
