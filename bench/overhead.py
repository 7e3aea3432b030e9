"""Wall-time overhead of run_eval.py over bare lm-eval on the same task, model and data.

With --requests, no model: the time our task YAMLs take to build every request of the full
MMLU-Pro, KMMLU and BBH (`build_all_requests`, few-shot contexts included) beside lm-eval's own
configs of the same benchmarks reading the same loaded data, and their ratio (target <= 1.10).

Runs `lm_eval` (lm-eval's own CLI) and `run_eval.py run` alternately as subprocesses, on the
embedded model (its cached HF folder, float32, no chat template on either side), the same task
YAML (tasks/mmlu_pro/es_mmlu_pro; accuracy only, so neither side bootstraps a stderr), the same limit, shots, batch size and data, with no response
cache on either side, and prints the median wall time of each and their ratio (target <= 1.03).

    python bench/overhead.py [--limit 30] [--repeats 3] [--data_dir ../shared/data]
    python bench/overhead.py --requests [es_mmlu_pro es_kmmlu es_bbh] [--limit N] [--repeats 1] [--data_dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalsuite.models.embedded import embedded_hf_dir  # noqa: E402


def timed(command: list[str]) -> float:
    """Wall seconds of a command; fails loudly if it fails.

    Both sides get the same OMP_NUM_THREADS (run_eval.py otherwise leaves a core free on CPU).
    """
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1))}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return elapsed


# our task (or group) -> lm-eval's config of each subtask, by our subtask name
REQUEST_BENCHMARKS = {
    "es_mmlu_pro": lambda task: "leaderboard/mmlu_pro/mmlu_pro.yaml",
    "es_kmmlu": lambda task: f"kmmlu/default/kmmlu_{task.removeprefix('es_kmmlu_')}.yaml",
    "es_bbh": lambda task: f"leaderboard/bbh_mc/{task.removeprefix('es_bbh_')}.yaml",
}


def _build_seconds(task: object, limit: int | None, seed: int = 1234) -> float:
    """Wall seconds of building the requests of one task (as lm-eval does before running a model)."""
    task.set_fewshot_seed(seed=seed)  # type: ignore[attr-defined]
    start = time.perf_counter()
    task.build_all_requests(limit=limit)  # type: ignore[attr-defined]
    return time.perf_counter() - start


def request_building(data_dir: Path, repeats: int, limit: int | None, only: list[str]) -> None:
    """Print, per benchmark, the seconds to build its requests with our YAMLs and with lm-eval's."""
    from lm_eval.tasks import TaskManager

    from evalsuite.runner.lm_eval_twin import builtin_twin

    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False,
                          metadata={"data_dir": str(data_dir)})
    print(f"request building, {f'first {limit} items per task' if limit else 'full test sets'}, "
          f"data {data_dir}, best of {repeats}")
    for name, config_of in REQUEST_BENCHMARKS.items():
        if only and name not in only:
            continue
        loaded = manager.load([name])["tasks"]
        tasks = {task_name: task for task_name, task in loaded.items() if hasattr(task, "build_all_requests")}
        ours = theirs = 0.0
        requests = 0
        for task_name, task in sorted(tasks.items()):
            twin = builtin_twin(config_of(task_name), task)
            ours += min(_build_seconds(task, limit) for _ in range(repeats))
            theirs += min(_build_seconds(twin, limit) for _ in range(repeats))
            requests += len(task.instances)
        print(f"{name:12s} {len(tasks):3d} task(s) {requests:7d} requests  ours {ours:7.2f} s  "
              f"lm-eval {theirs:7.2f} s  ratio {ours / theirs:.3f}  (target <= 1.10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data_dir", type=Path, default=None,
                        help="datasets in the upstream layouts (default ../shared/data, else tests/fixtures/data)")
    parser.add_argument("--requests", nargs="*", metavar="TASK", default=None,
                        help="time request building only (no model): es_mmlu_pro, es_kmmlu, es_bbh (default all); "
                             "--limit caps the items per task when given explicitly")
    args = parser.parse_args()
    data_dir = args.data_dir or next(
        p for p in (REPO.parent / "shared" / "data", REPO / "tests" / "fixtures" / "data") if p.is_dir()
    )
    if args.requests is not None:
        limit = args.limit if "--limit" in sys.argv else None
        request_building(data_dir, max(1, args.repeats), limit, args.requests)
        return
    model_args = f"pretrained={embedded_hf_dir()},dtype=float32"
    bin_dir = Path(sys.executable).parent
    scratch = Path(tempfile.mkdtemp(prefix="evalsuite-bench-"))
    bare = [str(bin_dir / "lm_eval"), "run", "--model", "hf", "--model_args", model_args,
            "--tasks", "es_mmlu_pro", "--include_path", str(REPO / "tasks"),
            "--num_fewshot", "5", "--batch_size", "8", "--limit", str(args.limit),
            "--device", "cpu", "--seed", "1234",
            "--metadata", json.dumps({"data_dir": str(data_dir)})]
    ours = [sys.executable, str(REPO / "run_eval.py"), "run", "--model", "hf", "--model_args", model_args,
            "--tasks", "mmlu_pro", "--num_fewshot", "5", "--batch_size", "8", "--limit", str(args.limit),
            "--device", "cpu", "--no-apply_chat_template", "--data_dir", str(data_dir),
            "--output_path", str(scratch), "--force", "--seed", "1234"]
    timings: dict[str, list[float]] = {"lm_eval": [], "run_eval.py": []}
    timed(bare)  # warm the page cache and the HF folder for both
    for _ in range(args.repeats):
        timings["lm_eval"].append(timed(bare))
        timings["run_eval.py"].append(timed(ours))
    base, mine = statistics.median(timings["lm_eval"]), statistics.median(timings["run_eval.py"])
    print(f"task es_mmlu_pro, 5-shot, limit {args.limit}, batch 8, embedded model (float32, CPU), data {data_dir}")
    for name, values in timings.items():
        print(f"{name:12s} median {statistics.median(values):7.2f} s  runs {', '.join(f'{v:.2f}' for v in values)}")
    print(f"ratio run_eval.py / lm_eval = {mine / base:.3f}  (target <= 1.03)")


if __name__ == "__main__":
    main()
