"""Token counts of dataset rows under the base model's own tokenizer and chat template.

    python -m trainer.dataset_stats --model M --rows rows.jsonl

M is a local model directory or a Hugging Face id. Each line of rows.jsonl is a training row
({"messages": [...], "tools": [...]}, tool-call arguments as JSON strings). Prints one JSON
document: {"model": M, "tokens": [n, ...]}, one count per row, in order. A tokenizer that cannot
be loaded prints {"error": ..., "hint": ...} and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

NO_TOKENIZER_EXIT = 2


class TokenizerUnavailable(Exception):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def hub_reachable(timeout: float = 3.0) -> bool:
    """huggingface_hub retries an unreachable host for about a minute: ask the socket first."""
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tokenizer(model: str):
    from transformers import AutoTokenizer

    hint = "set base_model (or train.base_model) in subagents.yaml to a local directory holding the model's tokenizer files (tokenizer.json, tokenizer_config.json)"
    if Path(model).is_dir():
        try:
            tok = AutoTokenizer.from_pretrained(model, local_files_only=True)
        except Exception as e:  # transformers raises many types for a broken directory
            raise TokenizerUnavailable(f"cannot load the tokenizer in {model}: {e}", hint) from e
    else:
        try:
            tok = AutoTokenizer.from_pretrained(model, local_files_only=True)
        except Exception:
            if not hub_reachable():
                raise TokenizerUnavailable(
                    f"cannot load the tokenizer of {model}: it is not in the Hugging Face cache and the Hub cannot be reached", hint
                ) from None
            try:
                tok = AutoTokenizer.from_pretrained(model)
            except Exception as e:
                raise TokenizerUnavailable(f"cannot load the tokenizer of {model}: {e}", hint) from e
    if not tok.chat_template:
        raise TokenizerUnavailable(f"the tokenizer of {model} has no chat template", "use an instruct (chat) model as base_model")
    return tok


def template_messages(messages: list[dict]) -> list[dict]:
    """Chat templates expect tool-call arguments as mappings; rows store them as JSON strings."""
    out = []
    for m in messages:
        calls = m.get("tool_calls")
        if calls:
            m = {**m, "tool_calls": [{**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}} for c in calls]}
        out.append(m)
    return out


def count_tokens(tok, row: dict) -> int:
    encoded = tok.apply_chat_template(template_messages(row["messages"]), tools=row.get("tools") or None, tokenize=True, return_dict=True)
    return len(encoded["input_ids"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.dataset_stats", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--rows", required=True)
    a = p.parse_args(argv)
    try:
        tok = load_tokenizer(a.model)
    except TokenizerUnavailable as e:
        print(json.dumps({"error": str(e), "hint": e.hint}))
        return NO_TOKENIZER_EXIT
    tokens = []
    with open(a.rows, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                tokens.append(count_tokens(tok, json.loads(line)))
    print(json.dumps({"model": a.model, "tokens": tokens}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
