from datetime import date

import pytest

from taskq.dates import format_date, format_relative, parse_date

TODAY = date(2024, 5, 15)


def test_parse_iso():
    assert parse_date("2024-05-01") == date(2024, 5, 1)


def test_parse_relative_words():
    assert parse_date("today", TODAY) == TODAY
    assert parse_date("tomorrow", TODAY) == date(2024, 5, 16)
    assert parse_date("+2w", TODAY) == date(2024, 5, 29)


def test_parse_day_first():
    assert parse_date("03/04/2024") == date(2024, 4, 3)


def test_parse_rejects_garbage():
    with pytest.raises(ValueError, match="not a date"):
        parse_date("next tuesday")


def test_format_date():
    assert format_date(date(2024, 1, 9)) == "2024-01-09"


@pytest.mark.parametrize(
    "due, expected",
    [(date(2024, 5, 15), "today"), (date(2024, 5, 16), "tomorrow"), (date(2024, 5, 14), "yesterday"), (date(2024, 5, 20), "in 5 days"), (date(2024, 5, 1), "14 days ago")],
)
def test_format_relative(due, expected):
    assert format_relative(due, TODAY) == expected
