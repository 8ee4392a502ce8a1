from dataclasses import dataclass, field
from datetime import date


@dataclass
class Task:
    """One line of the task file."""

    title: str
    done: bool = False
    due: date | None = None
    priority: int = 2
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
