"""Settings: config.ini under TASKQ_HOME, then environment variables, read once at start-up."""

import configparser
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Config:
    home: Path
    log_level: str = "WARNING"
    api_url: str = "https://tasks.example.com/api"
    api_token: str | None = None

    @property
    def task_file(self) -> Path:
        return self.home / "tasks.md"


def load_config(environ=os.environ) -> Config:
    home = Path(environ.get("TASKQ_HOME", Path.home() / ".taskq"))
    config = Config(home=home)
    ini = configparser.ConfigParser()
    ini.read(home / "config.ini")
    if ini.has_section("taskq"):
        config.log_level = ini.get("taskq", "log_level", fallback=config.log_level)
        config.api_url = ini.get("taskq", "api_url", fallback=config.api_url)
    config.log_level = environ.get("TASKQ_LOG_LEVEL", config.log_level).upper()
    config.api_url = environ.get("TASKQ_API_URL", config.api_url)
    config.api_token = environ.get("TASKQ_API_TOKEN")
    return config
