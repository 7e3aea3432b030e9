"""lm-eval glue for the es_mmlu_pro task: the dataset loader."""

from __future__ import annotations

from typing import Any

from evalsuite.data.mmlu_pro import load_mmlu_pro


def load_dataset(data_dir: str | None = None, **_metadata: Any):
    """lm-eval `custom_dataset`: called with the task metadata (data_dir, version, ...)."""
    return load_mmlu_pro(data_dir)
