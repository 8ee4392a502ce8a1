"""Two-way sync of the task file with the web service."""

from .config import Config
from .dates import format_date, parse_date
from .http import HttpClient
from .models import Task


def to_json(task: Task) -> dict:
    return {"title": task.title, "done": task.done, "due": format_date(task.due) if task.due else None, "tags": task.tags}


def from_json(data: dict) -> Task:
    return Task(title=data["title"], done=data["done"], due=parse_date(data["due"]) if data.get("due") else None, tags=data.get("tags", []))


def sync_tasks(config: Config, tasks: list[Task], client: HttpClient | None = None) -> list[Task]:
    client = client or HttpClient(config.api_url, config.api_token)
    client.post_json("/tasks/bulk", [to_json(t) for t in tasks])
    return [from_json(d) for d in client.get_json("/tasks")]
