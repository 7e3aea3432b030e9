"""lm-eval glue for the es_kmmlu_* tasks: the dataset loader."""

from __future__ import annotations

from typing import Any

from evalsuite.data.kmmlu import load_kmmlu


def load_dataset(subject: str, data_dir: str | None = None, **_metadata: Any):
    """lm-eval `custom_dataset`: called with the task metadata (data_dir, version, ...) and dataset_kwargs."""
    return load_kmmlu(subject, data_dir)
