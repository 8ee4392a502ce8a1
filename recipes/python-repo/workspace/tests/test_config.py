from taskq.cli import build_parser, resolve_log_level
from taskq.config import load_config


def test_defaults(tmp_path):
    config = load_config({"TASKQ_HOME": str(tmp_path)})
    assert config.log_level == "WARNING"
    assert config.task_file == tmp_path / "tasks.md"


def test_config_file_and_environment(tmp_path):
    (tmp_path / "config.ini").write_text("[taskq]\nlog_level = info\napi_url = https://a.test\n")
    config = load_config({"TASKQ_HOME": str(tmp_path), "TASKQ_API_TOKEN": "x"})
    assert config.log_level == "INFO"
    assert config.api_url == "https://a.test"
    assert config.api_token == "x"
    assert load_config({"TASKQ_HOME": str(tmp_path), "TASKQ_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_log_level_flag_overrides_config():
    args = build_parser().parse_args(["--log-level", "error", "list"])
    assert resolve_log_level(args.log_level, "INFO") == "ERROR"
    assert resolve_log_level(None, "INFO") == "INFO"
