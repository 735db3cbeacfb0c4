"""arXiv's calendar: listing dates, holidays, submission windows (UTC) and the latest listing at any instant."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.config import Config
from digest.sources.calendar import ET, ArxivCalendar

CAL = ArxivCalendar()  # the 2025–2026 holidays from ARXIV.md, as in config.yaml
D = dt.date.fromisoformat
UTC = dt.UTC


def window(day: str) -> tuple[str, str]:
    w = CAL.submitted_window(D(day))
    return f"{w.start:%Y-%m-%d %H:%M}", f"{w.end:%Y-%m-%d %H:%M}"


def test_monday_covers_thursday_to_friday_cutoffs():
    assert window("2026-06-29") == ("2026-06-25 18:00", "2026-06-26 18:00")


def test_tuesday_covers_friday_to_monday_and_matches_the_manual_example():
    assert window("2026-06-30") == ("2026-06-26 18:00", "2026-06-29 18:00")
    assert CAL.submitted_window(D("2026-06-30")).query() == "submittedDate:[202606261800 TO 202606291800]"


def test_midweek_window_is_one_day_and_winter_cutoffs_are_19_utc():
    assert window("2026-07-01") == ("2026-06-29 18:00", "2026-06-30 18:00")
    assert window("2026-01-13") == ("2026-01-09 19:00", "2026-01-12 19:00")


def test_dst_start_week_tuesday_window_is_71_hours():
    # Clocks go forward Sun 2026-03-08: Friday's cutoff is 14:00 EST, Monday's 14:00 EDT.
    assert window("2026-03-09") == ("2026-03-05 19:00", "2026-03-06 19:00")
    assert window("2026-03-10") == ("2026-03-06 19:00", "2026-03-09 18:00")
    w = CAL.submitted_window(D("2026-03-10"))
    assert w.end - w.start == dt.timedelta(hours=71)


def test_dst_end_week_tuesday_window_is_73_hours():
    # Clocks go back Sun 2026-11-01.
    assert window("2026-11-02") == ("2026-10-29 18:00", "2026-10-30 18:00")
    assert window("2026-11-03") == ("2026-10-30 18:00", "2026-11-02 19:00")
    w = CAL.submitted_window(D("2026-11-03"))
    assert w.end - w.start == dt.timedelta(hours=73)


def test_weekends_have_no_listing():
    assert not CAL.is_listing_date(D("2026-07-04")) and not CAL.is_listing_date(D("2026-07-05"))
    saturday = CAL.no_listing_reason(D("2026-07-04"))
    assert saturday == "2026-07-04 is a Saturday: arXiv announces nothing dated on weekends"
    assert CAL.no_listing_reason(D("2026-07-03")) is None


def test_holiday_tuesday_empties_wednesday_and_merges_into_thursday():
    # ARXIV.md: holiday Tue 2025-12-30 -> the RSS feed for Wed 2025-12-31 was an empty channel.
    assert CAL.is_listing_date(D("2025-12-30"))
    assert not CAL.is_listing_date(D("2025-12-31"))
    assert "holiday 2025-12-30" in CAL.no_listing_reason(D("2025-12-31"))
    assert window("2026-01-01") == ("2025-12-29 19:00", "2025-12-31 19:00")  # Mon 14:00 -> Wed 14:00 EST


def test_holiday_friday_leaves_monday_unchanged_and_tuesday_takes_four_days():
    # ARXIV.md: holiday Fri 2026-06-19 -> the Mon 2026-06-22 listing did not change.
    assert CAL.is_listing_date(D("2026-06-19"))
    assert not CAL.is_listing_date(D("2026-06-22"))
    assert window("2026-06-23") == ("2026-06-18 18:00", "2026-06-22 18:00")


def test_other_documented_holidays():
    # dw-dengwei data: no change on 2026-01-02 (holiday Thu 01-01) nor 2026-01-20 (holiday Mon 01-19).
    assert not CAL.is_listing_date(D("2026-01-02"))
    assert not CAL.is_listing_date(D("2026-01-20"))
    assert window("2026-01-21") == ("2026-01-16 19:00", "2026-01-20 19:00")
    assert window("2026-01-05") == ("2025-12-31 19:00", "2026-01-02 19:00")
    assert not CAL.is_listing_date(D("2025-07-07"))  # holiday Sun 2025-07-06: no Sunday-evening announcement


def test_holidays_come_from_config():
    closed = Config(arxiv={"holidays": ["2026-08-11"]})  # an ad-hoc closure on a Tuesday
    cal = ArxivCalendar.from_config(closed)
    assert not cal.is_listing_date(D("2026-08-12"))
    assert cal.is_listing_date(D("2026-06-22"))  # the default list was replaced
    with pytest.raises(ValueError, match="no arXiv announcement"):
        cal.submitted_window(D("2026-08-12"))


def test_windows_tile_time_without_gaps_or_overlaps():
    dates = CAL.listing_dates(D("2025-01-01"), D("2026-12-31"))
    # 261 weekdays a year, minus 16 cancelled listings (the 17th holiday, 2026-12-31, cancels 2027-01-01)
    assert len(dates) == 2 * 261 - 16
    for before, after in zip(dates, dates[1:]):
        assert CAL.submitted_window(before).end == CAL.submitted_window(after).start
    for day in dates:
        end = CAL.submitted_window(day).end.astimezone(ET)
        assert (end.hour, end.minute) == (14, 0) and end.weekday() < 5


def test_listing_dates_of_a_week_with_a_weekend_and_a_holiday():
    assert CAL.listing_dates(D("2026-06-29"), D("2026-07-07")) == [
        D("2026-06-29"),
        D("2026-06-30"),
        D("2026-07-01"),
        D("2026-07-02"),
        D("2026-07-03"),
        D("2026-07-07"),
    ]


@pytest.mark.parametrize(
    "instant, zone, latest",
    [
        ("2026-06-29 19:59", "America/New_York", "2026-06-29"),  # Monday, before the evening announcement
        ("2026-06-29 20:00", "America/New_York", "2026-06-30"),  # Tuesday's listing is out
        ("2026-06-29 17:00", "America/Los_Angeles", "2026-06-30"),
        ("2026-06-30 00:00", "UTC", "2026-06-30"),
        ("2026-06-29 23:59", "UTC", "2026-06-29"),
        ("2026-06-30 09:00", "Asia/Seoul", "2026-06-30"),
        ("2026-06-30 08:59", "Asia/Seoul", "2026-06-29"),
        ("2026-06-26 21:00", "America/New_York", "2026-06-26"),  # Friday evening: no announcement
        ("2026-06-27 12:00", "Asia/Tokyo", "2026-06-26"),  # Saturday
        ("2026-06-28 19:59", "America/New_York", "2026-06-26"),  # Sunday before 20:00
        ("2026-06-29 09:00", "Asia/Seoul", "2026-06-29"),  # = Sun 20:00 EDT
        ("2026-07-05 20:30", "America/New_York", "2026-07-03"),  # holiday Fri 07-03: no Sunday announcement
        ("2026-07-06 20:00", "America/New_York", "2026-07-07"),
        ("2025-12-30 21:00", "America/New_York", "2025-12-30"),  # holiday Tue 12-30: nothing that evening
        ("2025-12-31 20:00", "America/New_York", "2026-01-01"),
        ("2026-01-13 00:59", "UTC", "2026-01-12"),  # winter: 20:00 EST is 01:00 UTC
        ("2026-01-13 01:00", "UTC", "2026-01-13"),
        ("2026-03-08 23:59", "UTC", "2026-03-06"),  # DST night: 19:59 EDT on Sunday
        ("2026-03-09 00:00", "UTC", "2026-03-09"),
        ("2026-11-02 00:59", "UTC", "2026-10-30"),  # after the clocks went back: 19:59 EST Sunday
        ("2026-11-02 01:00", "UTC", "2026-11-02"),
        ("2026-06-30 10:00", "Pacific/Kiritimati", "2026-06-29"),  # UTC+14: still Mon 16:00 EDT
    ],
)
def test_latest_listing_date(instant, zone, latest):
    now = dt.datetime.strptime(instant, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))
    assert CAL.latest_listing_date(now) == D(latest)


def test_latest_listing_date_needs_an_aware_instant():
    with pytest.raises(ValueError):
        CAL.latest_listing_date(dt.datetime(2026, 6, 30, 12, 0))


ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Seoul",
    "Europe/Berlin",
    "Australia/Sydney",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2025, 1, 8), max_value=dt.datetime(2026, 12, 20)), st.sampled_from(ZONES))
def test_latest_listing_is_announced_and_the_next_one_is_not(naive, zone):
    now = naive.replace(tzinfo=ZoneInfo(zone))
    latest = CAL.latest_listing_date(now)
    assert CAL.is_listing_date(latest)
    assert CAL.announced_at(latest) <= now < CAL.announced_at(CAL.next_listing_date(latest))
