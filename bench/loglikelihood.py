"""Loglikelihood scoring: lm-eval's bare `hf` model vs evalsuite's `hf-fast`, on the same requests.

For each benchmark (MMLU-Pro and a few KMMLU subjects from the real data, 5-shot, the es_* task
configs), each implementation scores the same lm-eval requests in its own subprocess (the embedded
model, float32, CPU, the same batch size and torch threads), which reports its scoring wall time and
its peak resident memory (ru_maxrss, the whole process: libraries, model and scoring). The parent
checks that both give the same answers (log-probability within 1e-4, same is_greedy) and prints the
ratios (targets: MMLU-Pro wall <= 0.4x, peak memory <= 0.5x everywhere, never slower).

    python bench/loglikelihood.py [--mmlu_pro_limit 16] [--kmmlu_limit 8] [--batch_size 8] [--data_dir ../shared/data]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

IMPLEMENTATIONS = ("hf", "hf-fast")
KMMLU_SUBJECTS = ("es_kmmlu_accounting", "es_kmmlu_korean_history", "es_kmmlu_math")
TOLERANCE = 1e-4
print = functools.partial(print, flush=True)  # noqa: A001  (figures appear as each benchmark ends)


def benchmark_tasks(kmmlu_limit: int, mmlu_pro_limit: int) -> dict[str, list[tuple[str, int]]]:
    """Benchmark name -> (lm-eval task, limit) pairs."""
    return {
        "mmlu_pro": [("es_mmlu_pro", mmlu_pro_limit)],
        "kmmlu": [(task, kmmlu_limit) for task in KMMLU_SUBJECTS],
    }


def build_requests(data_dir: Path, tasks: list[tuple[str, int]], num_fewshot: int) -> list:
    """The loglikelihood Instances lm-eval builds for the tasks (seeded shots)."""
    from evalsuite.runner.lm_eval_backend import task_manager

    manager = task_manager(data_dir)
    requests = []
    for name, limit in tasks:
        task = manager.load([name])["tasks"][name]
        task.set_config(key="num_fewshot", value=num_fewshot)
        task.set_fewshot_seed(seed=1234)
        task.build_all_requests(limit=limit)
        requests.extend(task.instances)
    return requests


def child(args: argparse.Namespace) -> None:
    """Score one benchmark's requests with one implementation; print a JSON report."""
    import torch

    from evalsuite.models.embedded import embedded_hf_dir
    from evalsuite.models.loader import load_model

    torch.set_num_threads(args.threads)
    tasks = benchmark_tasks(args.kmmlu_limit, args.mmlu_pro_limit)[args.benchmark]
    requests = build_requests(args.data_dir, tasks, args.num_fewshot)
    model = load_model(args.child, f"pretrained={embedded_hf_dir()},dtype=float32",
                       batch_size=args.batch_size, device="cpu")
    loaded_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    answers = model.lm.loglikelihood(requests, disable_tqdm=True)
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "wall_s": wall, "peak_mib": peak_kib / 1024, "loaded_mib": loaded_kib / 1024,
        "implementation": model.info["implementation"], "answers": answers,
    }))


def run_child(implementation: str, benchmark: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", implementation, "--benchmark", benchmark,
               "--data_dir", str(args.data_dir), "--threads", str(args.threads),
               "--batch_size", str(args.batch_size), "--num_fewshot", str(args.num_fewshot),
               "--kmmlu_limit", str(args.kmmlu_limit), "--mmlu_pro_limit", str(args.mmlu_pro_limit)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(REPO),
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{implementation} on {benchmark} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(benchmark: str, reports: dict[str, dict]) -> bool:
    """Print one benchmark's figures; True when the answers agree and the targets are met."""
    base, fast = reports["hf"], reports["hf-fast"]
    pairs = list(zip(base["answers"], fast["answers"], strict=True))
    worst = max(abs(a[0] - b[0]) for a, b in pairs)
    greedy_differs = sum(a[1] != b[1] for a, b in pairs)
    wall_ratio = fast["wall_s"] / base["wall_s"]
    peak_ratio = fast["peak_mib"] / base["peak_mib"]
    scoring_ratio = (fast["peak_mib"] - fast["loaded_mib"] + 1) / (base["peak_mib"] - base["loaded_mib"] + 1)
    wall_target = 0.4 if benchmark == "mmlu_pro" else 1.0
    print(f"{benchmark}: {len(pairs)} requests compared; max |logprob diff| {worst:.2e}, "
          f"is_greedy differs on {greedy_differs}")
    for name, report in reports.items():
        print(f"  {name:8s} wall {report['wall_s']:8.2f} s   peak RSS {report['peak_mib']:8.0f} MiB "
              f"(after model load {report['loaded_mib']:6.0f} MiB)   {report['implementation']}")
    print(f"  ratio hf-fast/hf: wall {wall_ratio:.3f} (target <= {wall_target}), peak memory {peak_ratio:.3f} "
          f"(target <= 0.5), memory added by scoring {scoring_ratio:.3f}")
    return worst <= TOLERANCE and greedy_differs == 0 and wall_ratio <= wall_target and peak_ratio <= 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmlu_pro_limit", type=int, default=16, help="MMLU-Pro questions")
    parser.add_argument("--kmmlu_limit", type=int, default=8, help="questions per KMMLU subject")
    parser.add_argument("--batch_size", type=int, default=8, help="both sides (run_eval.py's default is 8)")
    parser.add_argument("--num_fewshot", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--benchmarks", default="mmlu_pro,kmmlu")
    parser.add_argument("--data_dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--benchmark", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not (args.data_dir / "mmlu_pro").is_dir() or not (args.data_dir / "kmmlu").is_dir():
        sys.exit(f"--data_dir {args.data_dir} lacks mmlu_pro/ or kmmlu/ (the real data, see its README)")
    print(f"embedded model (float32, CPU), {args.num_fewshot}-shot, batch {args.batch_size}, "
          f"{args.threads} threads, data {args.data_dir}")
    all_met = True
    for benchmark in args.benchmarks.split(","):
        reports = {name: run_child(name, benchmark, args) for name in IMPLEMENTATIONS}
        all_met &= compare(benchmark, reports)
    print("all targets met" if all_met else "SOME TARGET MISSED")


if __name__ == "__main__":
    main()
