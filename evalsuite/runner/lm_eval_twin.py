"""lm-eval's own task config run on one of our tasks' data: the yardstick our task YAMLs are checked
against (same requests, tests/tasks/test_lm_eval.py) and timed against (bench/overhead.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def builtin_twin(relative: str, ours: Any, resolve_functions: bool = True, **overrides: Any) -> Any:
    """lm-eval's config `lm_eval/tasks/<relative>`, unchanged except that it reads `ours`' dataset
    (our declared loader, same dataset_kwargs and metadata) with `ours`' number of shots; `overrides`
    replace config keys (e.g. for a config whose utils cannot be imported, `resolve_functions=False`)."""
    import lm_eval.tasks
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    path = Path(lm_eval.tasks.__file__).parent / relative
    config = load_yaml(path, resolve_func=resolve_functions)
    for key in ("dataset_path", "dataset_name", "tag"):
        config.pop(key, None)
    config.update(overrides)
    config.update(
        task=f"builtin_{ours.config.task}",
        custom_dataset=ours.config.custom_dataset,
        dataset_kwargs=ours.config.dataset_kwargs,
        metadata=dict(ours.config.metadata),
        num_fewshot=ours.config.num_fewshot,
    )
    return ConfigurableTask(config=config)
