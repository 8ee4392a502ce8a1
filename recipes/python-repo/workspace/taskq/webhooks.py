"""Notifies a chat webhook when a task is done."""

import os

import requests

from .models import Task


def notify_done(task: Task) -> None:
    url = os.environ.get("TASKQ_WEBHOOK_URL")
    if not url:
        return
    requests.post(url, json={"text": f"Done: {task.title}"}, timeout=5)
