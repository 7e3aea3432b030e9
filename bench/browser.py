"""Size and speed of the evidence at full scale: KMMLU (35,030 items) and MMLU-Pro (12,032 items)
samples shaped as `run` writes them (5-shot contexts rendered with the tasks' prompts from the real
data, one request per choice, log-likelihoods), written by the samples writer, rendered into the
results browser, and the largest page loaded in headless Chromium.

    python bench/browser.py [--data_dir ../shared/data] [--out /tmp/evalsuite-browser-bench]

The model's answers are random (this measures sizes and times, not a model)."""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalsuite.leaderboard import render_leaderboard  # noqa: E402
from evalsuite.results.samples import write_samples  # noqa: E402
from evalsuite.results.schema import build_result  # noqa: E402
from evalsuite.results.store import write_json_atomic  # noqa: E402

LETTERS = "ABCDEFGHIJ"


def _mc_row(rng: random.Random, item: str, group: str, doc: dict, context: str, choices: list[str],
            label: int, doc_id: int) -> dict:
    lls = [round(-rng.random() * 8, 6) for _ in choices]
    pred = max(range(len(choices)), key=lls.__getitem__)
    return {"item": item, "score": float(pred == label), "group": group, "pred": pred, "label": label,
            "subtask": group, "doc_id": doc_id, "metric": "acc", "acc_norm": None, "choices": len(choices),
            "loglikelihoods": lls, "choice_texts": [f" {c}" for c in choices], "doc": doc,
            "arguments": [[context, f" {c}"] for c in choices], "resps": [[[ll, False]] for ll in lls],
            "filtered_resps": [[ll, False] for ll in lls], "target": label, "metrics": {"acc": float(pred == label)}}


def kmmlu_rows(data: Path, rng: random.Random) -> list[dict]:
    """lm-eval's kmmlu prompt; 5 shots from the subject's dev split in a random order per item."""
    def text(row: dict) -> str:
        return f"{row['question'].strip()}\nA. {row['A']}\nB. {row['B']}\nC. {row['C']}\nD. {row['D']}\n정답："

    rows = []
    for test in sorted((data / "kmmlu" / "data").glob("*-test.csv")):
        subject = test.name[: -len("-test.csv")]
        dev = list(csv.DictReader(open(test.with_name(f"{subject}-dev.csv"), encoding="utf-8")))
        for doc_id, row in enumerate(csv.DictReader(open(test, encoding="utf-8"))):
            shots = rng.sample(dev, min(5, len(dev)))
            context = "".join(text(s) + " " + LETTERS[int(s["answer"]) - 1] + "\n\n" for s in shots) + text(row)
            rows.append(_mc_row(rng, f"{subject}/{doc_id}", subject, row, context, list("ABCD"),
                                int(row["answer"]) - 1, doc_id))
    return rows


def mmlu_pro_rows(data: Path, rng: random.Random) -> list[dict]:
    """The Open LLM Leaderboard 2 prompt; the first 5 validation rows as shots."""
    def text(row: dict) -> str:
        return row["question"] + "\n" + "".join(f"{LETTERS[i]}. {o}\n" for i, o in enumerate(row["options"])) + "Answer:"

    shots = [json.loads(line) for line in open(data / "mmlu_pro" / "validation.jsonl", encoding="utf-8")][:5]
    prefix = "".join(text(s) + " " + s["answer"] + "\n\n" for s in shots)
    rows = []
    for doc_id, line in enumerate(open(data / "mmlu_pro" / "test.jsonl", encoding="utf-8")):
        row = json.loads(line)
        choices = list(LETTERS[: len(row["options"])])
        rows.append(_mc_row(rng, str(row["question_id"]), row["category"], row, prefix + text(row), choices,
                            LETTERS.index(row["answer"]), doc_id))
    return rows


def write_result(results: Path, benchmark: str, rows: list[dict]) -> Path:
    folder = results / "bench-model"
    samples = folder / "samples" / f"{benchmark}.jsonl"
    write_samples(samples, rows)
    score = 100 * sum(r["score"] for r in rows) / len(rows)
    write_json_atomic(folder / f"{benchmark}.json", build_result(
        benchmark=benchmark, model={"name": "bench-model", "type": "hf", "args": {}, "revision": None},
        protocol={"num_fewshot": 5, "output": "loglikelihood", "chat_template": False, "fewshot_as_multiturn": False,
                  "metric": "acc", "aggregation": "micro", "judge": None, "limit": None},
        score=score, metrics={"acc": score / 100, "acc_stderr": 0.002}, subscores={}, n=len(rows), failures=None,
        provenance={"finished_at": "2026-01-01T00:00:00"}, samples=f"samples/{benchmark}.jsonl"))
    return samples


def _mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def ready_ms(page: Path) -> int:
    """Milliseconds from navigation to the page's data-ready mark in headless Chromium (real clock)."""
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    marker = done.stdout.split('data-ready="', 1)[1].split('"', 1)[0]
    return int(marker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default="/tmp/evalsuite-browser-bench")
    args = parser.parse_args()
    data, out = Path(args.data_dir), Path(args.out)
    if not (data / "kmmlu" / "data").is_dir() or not (data / "mmlu_pro" / "test.jsonl").is_file():
        print(f"bench/browser.py: KMMLU and MMLU-Pro are not under {data} (pass --data_dir): skipped")
        return
    shutil.rmtree(out, ignore_errors=True)
    rng = random.Random(0)
    for benchmark, build in (("kmmlu", kmmlu_rows), ("mmlu_pro", mmlu_pro_rows)):
        rows = build(data, rng)
        started = time.perf_counter()
        samples = write_result(out / "results", benchmark, rows)
        plain = sum(len(json.dumps(r, ensure_ascii=False)) + 1 for r in rows) / 1e6
        print(f"{benchmark}: {len(rows)} items, samples {_mb(samples):.1f} MB "
              f"(unshared {plain:.1f} MB), written in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    render_leaderboard(out / "results", out / "leaderboards", ("md", "html"))
    print(f"leaderboard md+html rendered in {time.perf_counter() - started:.1f} s; browser (index.html + site/) "
          f"{_mb(out / 'leaderboards' / 'site'):.1f} MB")
    for benchmark in ("kmmlu", "mmlu_pro"):
        page = out / "leaderboards" / "site" / "items" / benchmark / "bench-model.html"
        items = _mb(page.parents[3] / "site" / "data" / benchmark / "bench-model" / "items.js")
        ready_ms(page)  # warm the disk cache
        times = sorted(ready_ms(page) for _ in range(3))
        print(f"{benchmark} items page: listing chunk {items:.1f} MB, interactive after {times[1]} ms "
              f"(median of 3: {times})")


if __name__ == "__main__":
    main()
