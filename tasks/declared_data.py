"""lm-eval glue shared by every task here: `custom_dataset` reads the benchmark's declaration.

Task YAMLs `include: ../_declared_data_yaml` and name their benchmark in `dataset_kwargs`.
"""

from evalsuite.data.loader import load_declared_dataset as load_dataset

__all__ = ["load_dataset"]
