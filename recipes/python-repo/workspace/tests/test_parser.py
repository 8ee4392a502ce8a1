from datetime import date

import pytest

from taskq.models import Task
from taskq.parser import ParseError, format_task, parse_file, parse_line


def test_parse_basic():
    task = parse_line("- [ ] Renew the TLS certificate @dana #ops !1 due:2024-06-01")
    assert task == Task(title="Renew the TLS certificate", owner="dana", tags=["ops"], priority=1, due=date(2024, 6, 1))


def test_parse_done():
    assert parse_line("- [x] Write the release notes #docs").done


def test_roundtrip():
    task = Task(title="Ship 0.5", done=True, due=date(2024, 7, 1), priority=1, tags=["release", "ops"], owner="sam")
    assert parse_line(format_task(task)) == task


def test_unicode_names():
    task = parse_line("- [ ] Review the translation @zoë #français")
    assert task.owner == "zoë"
    assert task.tags == ["français"]
    assert task.title == "Review the translation"


def test_parse_file_skips_headings_and_blank_lines():
    text = "# Inbox\n\n- [ ] one\n- [x] two\n"
    assert [t.title for t in parse_file(text)] == ["one", "two"]


def test_bad_line_names_its_number():
    with pytest.raises(ParseError, match="line 2"):
        parse_file("- [ ] fine\nnot a task\n")
