"""lm-eval glue for the es_gsm8k task: the dataset loader."""

from __future__ import annotations

from typing import Any

from evalsuite.data.gsm8k import load_gsm8k


def load_dataset(data_dir: str | None = None, **_metadata: Any):
    """lm-eval `custom_dataset`: called with the task metadata (data_dir, version, ...)."""
    return load_gsm8k(data_dir)
