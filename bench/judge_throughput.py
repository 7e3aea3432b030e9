"""Judge throughput: 160 judgments (MT-Bench's count) against a loopback judge with a fixed latency.

Prints elapsed / (ceil(160 / concurrency) x latency): 1.0 is the ideal of a perfectly pipelined
client; the target is <= 1.2 at concurrency 16. The full judging path runs (prompt-bearing
messages, rating parsing, fsynced cache writes), for several concurrencies side by side. The
loopback judge runs in its own process (as a real endpoint would), on 127.0.0.1.

    python bench/judge_throughput.py [--latency 0.25] [--items 160] [--concurrency 1 4 16 32]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalsuite.judging.client import (  # noqa: E402
    JUDGMENT_KEY, JudgeClient, JudgeTask, RenderedPrompt, RetryPolicy, judge_all,
)
from evalsuite.judging.core import JudgeRun, judge_one  # noqa: E402
from evalsuite.judging.definitions import load_definition  # noqa: E402
from evalsuite.results.store import JsonlCache  # noqa: E402
from evalsuite.judging.formats import get_format  # noqa: E402


def _tasks(n: int) -> list[JudgeTask]:
    body = "An answer of realistic length. " * 60
    return [JudgeTask(81 + i // 2, 1 + i % 2, 0, "bench-model",
                      RenderedPrompt("single-v1", f"item {i}: {body}",
                                     [{"role": "system", "content": "You are a helpful assistant."},
                                      {"role": "user", "content": f"item {i}: {body}"}]), f"h{i}")
            for i in range(n)]


async def _judge(base_url: str, tasks: list[JudgeTask], concurrency: int, cache_dir: Path) -> None:
    client = JudgeClient("bench-judge", base_url=base_url, api_key="sk-bench", concurrency=concurrency,
                         temperature=0.0, max_tokens=2048, timeout_s=30, retry=RetryPolicy(2, 0.05, 0.2))
    cache = JsonlCache(cache_dir / f"judgments-{concurrency}.jsonl", JUDGMENT_KEY)
    try:
        definition = load_definition("mt_bench")
        run = JudgeRun(definition, None, [], {}, "bench-model", client.model)
        outcomes = await judge_all(tasks, client, judge_one(get_format(definition.format), run), cache, progress=False)
    finally:
        await client.close()
    assert all(o.row is not None and o.row["score"] == 8.0 for o in outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per judge reply")
    parser.add_argument("--items", type=int, default=160)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 32])
    args = parser.parse_args()
    tasks = _tasks(args.items)
    print(f"{args.items} judgments, loopback judge latency {args.latency:.3f} s")
    print(f"{'concurrency':>11} {'elapsed_s':>10} {'ideal_s':>8} {'ratio':>6}")
    ratios = {}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.replay_server", "--fallback", "Explanation. Rating: [[8]]",
         "--latency", str(args.latency), "--lifetime", "900"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    try:
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            for concurrency in args.concurrency:
                start = time.perf_counter()
                asyncio.run(_judge(base_url, tasks, concurrency, Path(tmp)))
                elapsed = time.perf_counter() - start
                ideal = math.ceil(args.items / concurrency) * args.latency
                ratios[concurrency] = elapsed / ideal
                print(f"{concurrency:>11} {elapsed:>10.2f} {ideal:>8.2f} {ratios[concurrency]:>6.3f}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    if 16 in ratios:
        verdict = "meets" if ratios[16] <= 1.2 else "MISSES"
        print(f"concurrency 16: ratio {ratios[16]:.3f} ({verdict} the <= 1.2 target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
