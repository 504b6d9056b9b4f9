"""Next-fire times: month ends, leap years, L, W, #, year bounds, rates from their anchor."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from eventpipes.schedules import RateSchedule, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def fires(expression: str, after: str, count: int = 1) -> list[str]:
    schedule = parse_schedule(expression)
    moment: datetime | None = at(after)
    out = []
    for _ in range(count):
        assert moment is not None
        moment = schedule.next_fire(moment)
        out.append(moment.strftime("%Y-%m-%d %H:%M") if moment else "none")
    return out


def test_strictly_after_a_fire_time() -> None:
    assert fires("cron(0 10 * * ? *)", "2026-03-01 10:00") == ["2026-03-02 10:00"]
    assert fires("cron(0 10 * * ? *)", "2026-03-01 09:59:59.999") == ["2026-03-01 10:00"]
    assert fires("cron(* * * * ? *)", "2026-03-01 10:00:30") == ["2026-03-01 10:01"]


def test_documented_examples_fire_as_described() -> None:
    # 2026-03-02 is a Monday.
    assert fires("cron(0 18 ? * MON-FRI *)", "2026-03-06 18:00", 2) == ["2026-03-09 18:00", "2026-03-10 18:00"]
    assert fires("cron(0 8 1 * ? *)", "2026-01-15 00:00", 2) == ["2026-02-01 08:00", "2026-03-01 08:00"]
    assert fires("cron(0/15 * * * ? *)", "2026-03-02 23:50", 2) == ["2026-03-03 00:00", "2026-03-03 00:15"]
    assert fires("cron(0/5 8-17 ? * MON-FRI *)", "2026-03-06 17:55", 1) == ["2026-03-09 08:00"]
    assert fires("cron(15 10 ? * 6L 2019-2022)", "2022-11-30 00:00", 2) == ["2022-12-30 10:15", "none"]


def test_month_ends() -> None:
    assert fires("cron(0 0 31 * ? *)", "2026-01-31 00:00", 3) == ["2026-03-31 00:00", "2026-05-31 00:00", "2026-07-31 00:00"]
    assert fires("cron(0 0 L * ? *)", "2026-01-31 00:00", 4) == [
        "2026-02-28 00:00", "2026-03-31 00:00", "2026-04-30 00:00", "2026-05-31 00:00"]
    assert fires("cron(59 23 L * ? *)", "2026-12-31 23:58", 2) == ["2026-12-31 23:59", "2027-01-31 23:59"]


def test_leap_years() -> None:
    assert fires("cron(0 0 29 2 ? *)", "2026-01-01 00:00", 3) == ["2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"]
    assert fires("cron(0 0 L 2 ? *)", "2027-03-01 00:00", 2) == ["2028-02-29 00:00", "2029-02-28 00:00"]
    # 2100 is not a leap year: 29 February jumps from 2096 to 2104.
    assert fires("cron(0 0 29 FEB ? *)", "2096-03-01 00:00") == ["2104-02-29 00:00"]


def test_last_weekday_of_month_l_in_day_of_week() -> None:
    # Last Fridays of 2026: 30 Jan, 27 Feb, 27 Mar, 24 Apr, 29 May.
    assert fires("cron(0 12 ? * 6L *)", "2026-01-01 00:00", 5) == [
        "2026-01-30 12:00", "2026-02-27 12:00", "2026-03-27 12:00", "2026-04-24 12:00", "2026-05-29 12:00"]
    # L alone in day-of-week is the week's last day: every Saturday.
    assert fires("cron(0 12 ? * L *)", "2026-03-01 00:00", 2) == ["2026-03-07 12:00", "2026-03-14 12:00"]


def test_nth_weekday_hash() -> None:
    # Third Fridays of 2026: 16 Jan, 20 Feb, 20 Mar.
    assert fires("cron(0 9 ? * 6#3 *)", "2026-01-01 00:00", 3) == ["2026-01-16 09:00", "2026-02-20 09:00", "2026-03-20 09:00"]
    # A fifth Monday exists only in some months: 2026 has them in March, June, August, November.
    assert fires("cron(0 9 ? * MON#5 *)", "2026-01-01 00:00", 4) == [
        "2026-03-30 09:00", "2026-06-29 09:00", "2026-08-31 09:00", "2026-11-30 09:00"]
    # First Sunday when the month starts on a Sunday (March 2026).
    assert fires("cron(0 9 ? * 1#1 *)", "2026-02-10 00:00") == ["2026-03-01 09:00"]


def test_nearest_weekday_w() -> None:
    # 2026-03-15 is a Sunday: the nearest weekday is Monday the 16th.
    assert fires("cron(0 9 15W 3 ? *)", "2026-01-01 00:00") == ["2026-03-16 09:00"]
    # 2026-02-14 is a Saturday: Friday the 13th.
    assert fires("cron(0 9 14W 2 ? *)", "2026-01-01 00:00") == ["2026-02-13 09:00"]
    # 2026-08-01 is a Saturday: not 31 July but Monday 3 August (W never crosses months).
    assert fires("cron(0 9 1W 8 ? *)", "2026-01-01 00:00") == ["2026-08-03 09:00"]
    # 2026-05-31 is a Sunday and the month's last day: Friday the 29th, not 1 June.
    assert fires("cron(0 9 31W 5 ? *)", "2026-01-01 00:00") == ["2026-05-29 09:00"]
    # 31W has no day in a 30-day month.
    assert fires("cron(0 9 31W 4,6 ? 2026)", "2026-01-01 00:00") == ["none"]
    # A weekday stays where it is.
    assert fires("cron(0 9 3W 3 ? *)", "2026-01-01 00:00") == ["2026-03-03 09:00"]


def test_last_weekday_lw() -> None:
    # 2026-05-31 is a Sunday: Friday 29 May; 2026-01-31 is a Saturday: Friday 30 January.
    assert fires("cron(0 9 LW * ? *)", "2026-01-01 00:00", 1) == ["2026-01-30 09:00"]
    assert fires("cron(0 9 LW 5 ? *)", "2026-01-01 00:00", 1) == ["2026-05-29 09:00"]


def test_year_bounds() -> None:
    assert fires("cron(0 0 1 1 ? 2199)", "2198-06-01 00:00", 2) == ["2199-01-01 00:00", "none"]
    assert fires("cron(59 23 31 12 ? *)", "2199-12-31 23:58", 2) == ["2199-12-31 23:59", "none"]
    assert fires("cron(0 0 * * ? 2027)", "2030-01-01 00:00") == ["none"]
    assert fires("cron(0 0 1 1 ? 1970)", "1960-01-01 00:00") == ["1970-01-01 00:00"]


def test_never_firing_expression_is_none_and_quick() -> None:
    assert fires("cron(0 0 30 2 ? *)", "1970-01-01 00:00") == ["none"]


def test_latest_at_or_before() -> None:
    schedule = parse_schedule("cron(0 9 ? * 6#3 *)")
    assert schedule.latest_at_or_before(at("2026-02-20 09:00")) == at("2026-02-20 09:00")
    assert schedule.latest_at_or_before(at("2026-02-20 08:59")) == at("2026-01-16 09:00")
    assert parse_schedule("cron(0 0 1 1 ? 1970)").latest_at_or_before(at("1969-12-31 00:00")) is None


def test_naive_times_are_utc_and_results_are_aware() -> None:
    schedule = parse_schedule("cron(0 10 * * ? *)")
    result = schedule.next_fire(datetime(2026, 3, 1, 9, 0))
    assert result == at("2026-03-01 10:00") and result.tzinfo is not None
    offset = timezone(timedelta(hours=2))
    assert schedule.next_fire(datetime(2026, 3, 1, 12, 30, tzinfo=offset)) == at("2026-03-02 10:00")


def test_rate_ticks_count_from_the_anchor() -> None:
    anchor = at("2026-03-01 10:07:13")
    rate = parse_schedule("rate(5 minutes)").anchored(anchor)
    assert rate.next_fire(anchor) == at("2026-03-01 10:12:13")
    assert rate.next_fire(at("2026-03-01 10:12:13")) == at("2026-03-01 10:17:13")
    assert rate.next_fire(at("2026-03-01 10:12:12")) == at("2026-03-01 10:12:13")
    assert rate.next_fire(at("2026-01-01 00:00")) == at("2026-03-01 10:12:13")
    assert rate.latest_at_or_before(at("2026-03-01 10:20")) == at("2026-03-01 10:17:13")
    assert rate.latest_at_or_before(at("2026-03-01 10:12")) is None


def test_rate_in_seconds_for_tests() -> None:
    anchor = at("2026-03-01 10:00:00")
    rate = RateSchedule("test", timedelta(seconds=2), anchor)
    assert rate.next_fire(at("2026-03-01 10:00:03")) == at("2026-03-01 10:00:04")
    with pytest.raises(ValueError):
        RateSchedule("test", timedelta(0))


def test_rate_past_the_largest_datetime_is_none() -> None:
    rate = parse_schedule("rate(999999 days)")
    assert rate.next_fire(at("9999-01-01 00:00")) is None
