"""Dates as people write them in task files, and as taskq prints them."""

import re
from datetime import date, timedelta

ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
OFFSET = re.compile(r"^\+(\d+)([dw])$")


def parse_date(text: str, today: date | None = None) -> date:
    """Reads 2024-05-01, 01/05/2024 (day first), today, tomorrow, +3d or +2w."""
    text = text.strip().lower()
    today = today or date.today()
    if text == "today":
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if m := OFFSET.match(text):
        days = int(m[1]) * (7 if m[2] == "w" else 1)
        return today + timedelta(days=days)
    if m := ISO.match(text):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := SLASHED.match(text):
        return date(int(m[3]), int(m[1]), int(m[2]))
    raise ValueError(f"not a date: {text!r}")


def format_date(d: date) -> str:
    """The form written back to the task file."""
    return d.isoformat()


def format_relative(d: date, today: date | None = None) -> str:
    """'today', 'tomorrow', 'yesterday', 'in 3 days' or '2 days ago', for listings."""
    delta = (d - (today or date.today())).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    return f"in {delta} days" if delta > 0 else f"{-delta} days ago"
