import time
from datetime import date, timedelta

import pytest

from taskq.models import Task
from taskq.parser import format_file, parse_file


@pytest.mark.slow
def test_large_file_roundtrip():
    tasks = [Task(title=f"task {i}", due=date(2024, 1, 1) + timedelta(days=i % 365), tags=["bulk"]) for i in range(20000)]
    assert parse_file(format_file(tasks)) == tasks


@pytest.mark.slow
def test_report_over_a_year_of_tasks():
    from taskq.report import weekly_report

    started = time.monotonic()
    tasks = [Task(title=f"t{i}", due=date(2024, 1, 1) + timedelta(days=i)) for i in range(366)]
    time.sleep(1)
    assert "Overdue:" in weekly_report(tasks, date(2024, 6, 1))
    assert time.monotonic() - started >= 1
