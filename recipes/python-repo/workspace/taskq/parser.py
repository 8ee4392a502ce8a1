"""The task file format: `- [ ] Title @owner #tag !priority due:date`, one task per line."""

import re

from .dates import format_date, parse_date
from .models import Task

LINE = re.compile(r"^- \[(?P<done>[ x])\] (?P<rest>.+)$")
TAG = re.compile(r"(?:^|\s)#(\w+)", re.ASCII)
OWNER = re.compile(r"(?:^|\s)@(\w+)", re.ASCII)
PRIORITY = re.compile(r"(?:^|\s)!([1-3])\b")
DUE = re.compile(r"(?:^|\s)due:(\S+)")


class ParseError(ValueError):
    def __init__(self, lineno: int, line: str):
        super().__init__(f"line {lineno}: not a task: {line!r}")
        self.lineno = lineno


def parse_line(line: str, lineno: int = 1) -> Task:
    m = LINE.match(line.rstrip("\n"))
    if not m:
        raise ParseError(lineno, line)
    rest = m["rest"]
    task = Task(title="", done=m["done"] == "x")
    task.tags = TAG.findall(rest)
    if owner := OWNER.search(rest):
        task.owner = owner[1]
    if prio := PRIORITY.search(rest):
        task.priority = int(prio[1])
    if due := DUE.search(rest):
        task.due = parse_date(due[1])
    for pattern in (TAG, OWNER, PRIORITY, DUE):
        rest = pattern.sub("", rest)
    task.title = " ".join(rest.split())
    return task


def format_task(task: Task) -> str:
    parts = [f"- [{'x' if task.done else ' '}] {task.title}"]
    if task.owner:
        parts.append(f"@{task.owner}")
    parts.extend(f"#{t}" for t in task.tags)
    if task.priority != 2:
        parts.append(f"!{task.priority}")
    if task.due:
        parts.append(f"due:{format_date(task.due)}")
    return " ".join(parts)


def parse_file(text: str) -> list[Task]:
    """Blank lines and lines starting with '#' (headings, comments) are skipped."""
    tasks = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            tasks.append(parse_line(line, lineno))
    return tasks


def format_file(tasks: list[Task]) -> str:
    return "".join(format_task(t) + "\n" for t in tasks)
