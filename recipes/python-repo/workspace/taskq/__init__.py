"""taskq: a task list kept in a plain text file, with optional sync to a web service."""

__version__ = "0.4.0"
