"""Plain-text reports: what is overdue, what is due this week."""

from datetime import date, timedelta

from .dates import format_relative, parse_date
from .models import Task


def overdue(tasks: list[Task], today: date | None = None) -> list[Task]:
    today = today or date.today()
    return [t for t in tasks if t.due and not t.done and t.due < today]


def due_between(tasks: list[Task], start: str, end: str) -> list[Task]:
    first, last = parse_date(start), parse_date(end)
    return [t for t in tasks if t.due and first <= t.due <= last]


def weekly_report(tasks: list[Task], today: date | None = None) -> str:
    today = today or date.today()
    lines = ["Overdue:"] + [f"  {t.title} ({format_relative(t.due, today)})" for t in overdue(tasks, today)]
    week = [t for t in tasks if t.due and today <= t.due <= today + timedelta(days=7)]
    lines += ["This week:"] + [f"  {t.title} ({format_relative(t.due, today)})" for t in week]
    return "\n".join(lines)
