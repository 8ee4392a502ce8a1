"""Renders one dataset row the way training saw it: the Hugging Face chat template and tokenizer.

    python -m trainer.fidelity --model DIR --row ROW.json

ROW.json holds {"messages": [...], "tools": [...]} in OpenAI format (tool-call arguments as JSON
strings, as the API sends them). The conversation is cut before its last assistant message and
rendered with the generation prompt: that is the prompt the exported model answers at serving
time, and it covers the system prompt, tool definitions, earlier tool calls and tool results.
Prints {"prompt", "ids", "messages"}; sabuild compares it with what llama-server makes of the
same messages with the GGUF's own template.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def prompt_messages(messages: list[dict]) -> list[dict]:
    last_assistant = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
    return messages[:last_assistant]


def for_template(message: dict) -> dict:
    """HF templates expect tool-call arguments as mappings (they call `| tojson` on them)."""
    out = {k: v for k, v in message.items() if k in ("role", "content", "reasoning_content", "tool_calls", "tool_call_id", "name")}
    calls = []
    for call in message.get("tool_calls") or []:
        fn = dict(call.get("function", {}))
        if isinstance(fn.get("arguments"), str):
            try:
                fn["arguments"] = json.loads(fn["arguments"])
            except json.JSONDecodeError:
                pass
        calls.append({**call, "function": fn})
    if calls:
        out["tool_calls"] = calls
    return out


def render(model_dir: str | Path, row: dict) -> dict:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    messages = prompt_messages(row["messages"])
    prompt = tok.apply_chat_template(
        [for_template(m) for m in messages],
        tools=row.get("tools") or None,
        add_generation_prompt=True,
        tokenize=False,
    )
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    return {"prompt": prompt, "ids": ids, "messages": messages}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.fidelity", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="HF model directory with the tokenizer and chat template")
    p.add_argument("--row", required=True, help="JSON file with messages and tools")
    a = p.parse_args(argv)
    row = json.loads(Path(a.row).read_text())
    print(json.dumps(render(a.model, row)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
