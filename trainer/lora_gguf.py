"""Writes a PEFT LoRA adapter as a llama.cpp LoRA GGUF (general.type "adapter").

    python -m trainer.lora_gguf --adapter DIR --base MODEL_DIR --outfile FILE [--outtype f16]

llama-server loads the result with `--lora FILE` on top of the base model's GGUF, and Ollama
with `ADAPTER`. Each adapted weight W (out x in) becomes two tensors named after W's GGUF name:
`<name>.lora_a` (PEFT's lora_A, r x in) and `<name>.lora_b` (lora_B, out x r), with the
adapter's alpha in `adapter.lora.alpha`; llama.cpp scales by alpha / r as PEFT does.

It needs gguf-py (the one that matches the llama.cpp build: the export stage puts Debian sid's
on PYTHONPATH). It handles base architectures whose GGUF conversion keeps the adapted linear
weights as they are, only renamed (ARCHITECTURES below); for others it stops and says to use
llama.cpp's convert_lora_to_gguf.py, which replays the converter's reshaping on the LoRA factors.
Such refusals exit with status 3 and one `error:` line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# model_type -> gguf MODEL_ARCH member. Their converters rename q/k/v/o and the MLP projections
# without permuting or splitting them (Llama's permutes q and k, so it is not here).
ARCHITECTURES = {"qwen2": "QWEN2", "qwen3": "QWEN3"}
OUTTYPES = ("f32", "f16", "bf16", "q8_0")
PREFIX = "base_model.model."


# The exit status when the adapter has no LoRA GGUF form (the export stage then skips the file
# and says why); any other failure exits 1.
NO_LORA_GGUF = 3


class AdapterError(Exception):
    """What a LoRA GGUF cannot hold, or an input that is not what it should be."""


def _adapter_config(adapter: Path) -> dict:
    path = adapter / "adapter_config.json"
    if not path.exists():
        raise AdapterError(f"{adapter} has no adapter_config.json (not a PEFT adapter directory)")
    cfg = json.loads(path.read_text())
    if cfg.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"{path}: peft_type is {cfg.get('peft_type')}; only LoRA adapters become LoRA GGUFs")
    for key, what in (("use_dora", "DoRA"), ("use_rslora", "rsLoRA scaling")):
        if cfg.get(key):
            raise AdapterError(f"{path}: {key} is set; llama.cpp's LoRA GGUF has no {what} (use the merged GGUF instead)")
    for key in ("rank_pattern", "alpha_pattern"):
        if cfg.get(key):
            raise AdapterError(f"{path}: {key} gives modules their own rank or alpha; a LoRA GGUF has one alpha (use the merged GGUF instead)")
    if cfg.get("modules_to_save"):
        raise AdapterError(f"{path}: modules_to_save trains whole modules ({', '.join(cfg['modules_to_save'])}), which a LoRA GGUF cannot hold")
    return cfg


def _adapter_tensors(adapter: Path) -> dict:
    weights = adapter / "adapter_model.safetensors"
    if weights.exists():
        from safetensors.torch import load_file

        return load_file(str(weights))
    legacy = adapter / "adapter_model.bin"
    if legacy.exists():
        import torch

        return torch.load(str(legacy), map_location="cpu", weights_only=True)
    raise AdapterError(f"{adapter} has neither adapter_model.safetensors nor adapter_model.bin")


def _pairs(tensors: dict) -> dict[str, dict[str, object]]:
    """Groups lora_A/lora_B by the adapted module's Hugging Face weight name."""
    pairs: dict[str, dict[str, object]] = {}
    for key, value in tensors.items():
        name = key.removeprefix(PREFIX)
        for part in ("lora_A", "lora_B"):
            marker = f".{part}."
            if marker in name and name.endswith(".weight"):
                module = name.split(marker)[0]
                pairs.setdefault(f"{module}.weight", {})[part] = value
                break
        else:
            raise AdapterError(f"the adapter holds {key}, which is not a LoRA factor of a linear layer (embeddings and saved modules cannot go in a LoRA GGUF)")
    for weight, pair in pairs.items():
        if set(pair) != {"lora_A", "lora_B"}:
            raise AdapterError(f"the adapter has only {', '.join(pair)} for {weight}")
    return pairs


def _encode(array, outtype: str, gguf):
    """The factor in the output type, with the dtype gguf-py's writer needs."""
    import numpy as np

    if outtype == "f32":
        return array.astype(np.float32), None
    if outtype == "f16":
        return array.astype(np.float16), None
    if outtype == "bf16":
        return gguf.quants.quantize(array.astype(np.float32), gguf.GGMLQuantizationType.BF16), gguf.GGMLQuantizationType.BF16
    # q8_0 blocks are 32 values along a row: factors whose rows don't divide stay f16.
    if array.shape[-1] % 32 == 0:
        return gguf.quants.quantize(array.astype(np.float32), gguf.GGMLQuantizationType.Q8_0), gguf.GGMLQuantizationType.Q8_0
    return array.astype(np.float16), None


def convert(adapter: str | Path, base: str | Path, outfile: str | Path, outtype: str = "f16") -> dict:
    adapter, base, outfile = Path(adapter), Path(base), Path(outfile)
    if outtype not in OUTTYPES:
        raise AdapterError(f"--outtype {outtype} is not one of {', '.join(OUTTYPES)}")
    cfg = _adapter_config(adapter)
    config_path = base / "config.json"
    if not config_path.exists():
        raise AdapterError(f"{base} has no config.json (the base model's Hugging Face directory is needed for its architecture)")
    base_cfg = json.loads(config_path.read_text())
    model_type = base_cfg.get("model_type")
    if model_type not in ARCHITECTURES:
        raise AdapterError(
            f"{config_path}: model_type {model_type!r} is not one this converter handles ({', '.join(ARCHITECTURES)}); "
            "set export.tools.convert_lora to llama.cpp's convert_lora_to_gguf.py, or ship the merged GGUF"
        )
    pairs = _pairs(_adapter_tensors(adapter))
    if not pairs:
        raise AdapterError(f"{adapter} holds no LoRA factors")

    # Checked first, so that a wrong adapter is reported even where no gguf-py is installed.
    try:
        import gguf
    except ImportError:
        raise AdapterError("gguf-py is not importable: put llama.cpp's gguf-py (the one matching the llama.cpp build) on PYTHONPATH") from None
    arch = gguf.MODEL_ARCH[ARCHITECTURES[model_type]]
    names = gguf.get_tensor_name_map(arch, int(base_cfg["num_hidden_layers"]))
    alpha = float(cfg["lora_alpha"])
    writer_path = outfile.with_name(outfile.name + ".partial")
    writer = gguf.GGUFWriter(str(writer_path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    written = []
    for weight in sorted(pairs):
        name = names.get_name(weight, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise AdapterError(f"the adapter adapts {weight}, which has no tensor in a {model_type} GGUF")
        a = pairs[weight]["lora_A"].float().numpy()
        b = pairs[weight]["lora_B"].float().numpy()
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise AdapterError(f"{weight}: lora_A {tuple(a.shape)} and lora_B {tuple(b.shape)} do not pair up")
        for suffix, factor in (("lora_a", a), ("lora_b", b)):
            data, raw_dtype = _encode(factor, outtype, gguf)
            if raw_dtype is None:
                writer.add_tensor(f"{name}.{suffix}", data)
            else:
                writer.add_tensor(f"{name}.{suffix}", data, raw_dtype=raw_dtype)
        written.append({"weight": weight, "gguf": name, "rank": int(a.shape[0])})
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(writer_path, outfile)
    return {"out": str(outfile), "architecture": gguf.MODEL_ARCH_NAMES[arch], "alpha": alpha, "outtype": outtype, "tensors": len(written) * 2, "modules": len(written)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainer.lora_gguf", description=__doc__.splitlines()[0])
    p.add_argument("--adapter", required=True, help="PEFT adapter directory (adapter_config.json + weights)")
    p.add_argument("--base", required=True, help="the base model's (or the merged model's) Hugging Face directory: its config.json")
    p.add_argument("--outfile", required=True, help="the LoRA GGUF to write (replaced)")
    p.add_argument("--outtype", default="f16", choices=OUTTYPES)
    a = p.parse_args(argv)
    try:
        print(json.dumps(convert(a.adapter, a.base, a.outfile, a.outtype)))
    except AdapterError as e:
        print(f"error: {e}", file=sys.stderr)
        return NO_LORA_GGUF
    return 0


if __name__ == "__main__":
    sys.exit(main())
