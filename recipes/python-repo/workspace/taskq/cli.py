"""The taskq command."""

import argparse
import sys

from .config import load_config
from .dates import format_relative, parse_date
from .logging_setup import LEVELS, configure_logging
from .models import Task
from .parser import format_file, parse_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="taskq")
    p.add_argument("--log-level", choices=LEVELS, type=str.upper, help="overrides log_level from the config")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add")
    add.add_argument("title")
    add.add_argument("--due")
    sub.add_parser("list")
    done = sub.add_parser("done")
    done.add_argument("index", type=int)
    sub.add_parser("sync")
    return p


def resolve_log_level(flag: str | None, configured: str) -> str:
    return flag or configured


def cmd_add(tasks: list[Task], args) -> None:
    due = parse_date(args.due) if args.due else None
    tasks.append(Task(title=args.title, due=due))


def cmd_list(tasks: list[Task]) -> None:
    for i, t in enumerate(tasks, start=1):
        when = f" ({format_relative(t.due)})" if t.due else ""
        print(f"{i:3} [{'x' if t.done else ' '}] {t.title}{when}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = load_config()
    configure_logging(resolve_log_level(args.log_level, config.log_level))
    path = config.task_file
    tasks = parse_file(path.read_text()) if path.exists() else []
    if args.command == "add":
        cmd_add(tasks, args)
    elif args.command == "list":
        cmd_list(tasks)
        return 0
    elif args.command == "done":
        tasks[args.index - 1].done = True
    elif args.command == "sync":
        from .sync import sync_tasks

        tasks = sync_tasks(config, tasks)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_file(tasks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
