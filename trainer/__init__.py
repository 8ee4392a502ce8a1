"""sabuild's Python side: LoRA SFT (TRL + PEFT), merging and export helpers."""
