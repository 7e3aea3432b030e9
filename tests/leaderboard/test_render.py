"""The leaderboard end to end: fixture results -> markdown (golden files), CSV, JSON, charts, CLI."""

import argparse
import json
import os
import shutil

import pandas as pd
import pytest

from evalsuite.errors import BadInputError
from evalsuite.leaderboard import render_leaderboard
from evalsuite.leaderboard.cli import add_parser

from tests.conftest import GOLDEN, RESULT_FIXTURES as FIXTURES
NAMES = {"org/Beta-7B-Instruct": "Beta 7B"}
GOLDEN_PAGES = ["README.md", "benchmarks/kmmlu.md", "benchmarks/komt_bench.md", "benchmarks/mt_bench.md",
                "benchmarks/mmlu_pro.md", "benchmarks/gsm8k.md"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaderboard")
    results = root / "results"
    shutil.copytree(FIXTURES, results)
    out = root / "leaderboards"
    written = render_leaderboard(results, out, ("md", "csv", "json"), NAMES)
    return out, written


@pytest.mark.parametrize("page", GOLDEN_PAGES)
def test_markdown_matches_golden(rendered, page):
    out, _ = rendered
    text = (out / page).read_text(encoding="utf-8")
    golden = GOLDEN / page
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_measured_rows_sit_beside_paper_rows_with_intervals_and_flags(rendered):
    readme = (rendered[0] / "README.md").read_text(encoding="utf-8")
    assert "| EXAONE 3.0 7.8B Inst. | paper (secondary) | 44.5 |" in readme
    assert "| **Beta 7B** | measured | 43.1 [" in readme and "(a)" in readme
    assert "Beta 7B, KMMLU: 0-shot (paper: 5-shot)" in readme
    # MT-Bench's judge is inferred for the report, not stated: a note, not a flag
    assert "- Inferred: Beta 7B, MT-Bench: judge gpt-4o-2024-08-06 (inferred for the paper: gpt-4-0613)" in readme
    assert "| **Beta 7B** | measured | 6.19 [5.58, 6.78] |" in readme
    assert "measured, not comparable (--limit)" in readme
    assert "run with --limit 50 (a subset of the items): not comparable" in readme
    # every report column is measurable now (issue 9): a missing run shows "no result", never "n/a"
    assert "(partial 2/7)" in readme and "| no result |" in readme and "| n/a |" not in readme


def test_mmlu_pro_is_chance_normalized_in_the_general_table(rendered):
    table = pd.read_csv(rendered[0] / "tables" / "general.csv")
    alpha = table[table.model == "org/Alpha-7B-Instruct"].iloc[0]
    acc = json.loads((FIXTURES / "Alpha-7B-Instruct" / "mmlu_pro.json").read_text())["metrics"]["acc"]
    assert alpha.mmlu_pro == pytest.approx((acc - 0.10) / 0.90 * 100)
    assert alpha.mmlu_pro_ci_low < alpha.mmlu_pro < alpha.mmlu_pro_ci_high
    assert bool(alpha.average_partial)


def test_rows_sorted_by_full_average_then_partial(rendered):
    table = pd.read_csv(rendered[0] / "tables" / "english_real_world.csv")
    assert list(table.source[:6]) == ["paper"] * 6
    assert list(table.model[6:]) == ["org/Alpha-7B-Instruct", "Beta 7B"]
    assert list(table.average[:6]) == sorted(table.average[:6], reverse=True)


def test_json_holds_tables_comparisons_and_skipped_files(rendered):
    document = json.loads((rendered[0] / "leaderboard.json").read_text(encoding="utf-8"))
    assert [t["id"] for t in document["tables"]] == [
        "korean_general", "korean_real_world", "english_real_world", "math", "coding", "reasoning", "general"]
    pairs = {(c["benchmark"], c["model_a"], c["model_b"]): c for c in document["comparisons"]}
    mt = pairs[("mt_bench", "Beta 7B", "org/Alpha-7B-Instruct")]
    assert mt["n_common"] == 31 and mt["test"].startswith("paired bootstrap")
    assert pairs[("mmlu_pro", "Beta 7B", "org/Alpha-7B-Instruct")]["test"] == "McNemar (exact)"
    assert pairs[("gsm8k", "Beta 7B", "org/Alpha-7B-Instruct")]["p_value"] is None
    assert len(document["skipped"]) == 2


def test_charts_are_png(rendered):
    out, written = rendered
    charts = sorted(p.name for p in written if p.suffix == ".png")
    assert "korean_general.png" in charts and "komt_bench_categories.png" in charts
    for name in charts:
        assert (out / "charts" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_malformed_and_foreign_files_are_skipped_in_one_line(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "broken", results / "broken")
    shutil.copytree(FIXTURES / "foreign", results / "foreign")
    (results / "empty.json").write_text("", encoding="utf-8")
    render_leaderboard(results, tmp_path / "out")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("leaderboard: skipped ") for line in lines)
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "## Skipped files" in readme and "foreign/results_2024-08-10T10-00-00.json" in readme


def test_no_results_renders_the_paper_rows(tmp_path):
    (tmp_path / "empty").mkdir()
    written = render_leaderboard(tmp_path / "empty", tmp_path / "out")
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "No result files yet" in readme and "| measured" not in readme
    assert "| EXAONE 3.0 7.8B Inst. | paper (primary) | 9.01 | 46.8 | 48.2 | 45.0 | 57.5 | 57.5 |" in readme
    assert "| 27.4 | 72.1 | 26.1 | 21.7 | 10.1 | — | 31.5 (partial 5/6) | 27.9 |" in readme
    assert "| EXAONE 3.0 7.8B Inst. | paper (secondary) | 63.7 | 10.1 | 36.9 | 36.9 |" in readme  # Table 10
    assert not (tmp_path / "out" / "benchmarks").exists()
    assert len([p for p in written if p.suffix == ".png"]) == 7  # one chart per report table


def _cli(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_formats_and_names(tmp_path, capsys):
    names = tmp_path / "names.yaml"
    names.write_text("org/Alpha-7B-Instruct: Alpha 7B\n", encoding="utf-8")
    out = tmp_path / "out"
    assert _cli(["leaderboard", "--results", str(FIXTURES), "--out", str(out), "--format", "csv",
                 "--format", "json", "--names", str(names)]) == 0
    assert not (out / "README.md").exists()
    assert "Alpha 7B" in set(pd.read_csv(out / "tables" / "math.csv").model)
    assert str(out / "leaderboard.json") in capsys.readouterr().out


def test_cli_rejects_bad_format_and_bad_names(tmp_path):
    with pytest.raises(BadInputError, match="unknown leaderboard format"):
        _cli(["leaderboard", "--results", str(tmp_path), "--out", str(tmp_path / "o"), "--format", "md,xml"])
    bad = tmp_path / "names.yaml"
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="names file"):
        _cli(["leaderboard", "--results", str(tmp_path), "--out", str(tmp_path / "o"), "--names", str(bad)])


def test_duplicate_result_keeps_the_later_run(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "Alpha-7B-Instruct", results / "Alpha-7B-Instruct")
    older = json.loads((results / "Alpha-7B-Instruct" / "gsm8k.json").read_text())
    older["provenance"]["finished_at"] = "2024-01-01T00:00:00Z"
    older["score"] = 11.0
    (results / "Alpha-7B-Instruct" / "gsm8k_old.json").write_text(json.dumps(older))
    render_leaderboard(results, tmp_path / "out", ("csv",))
    assert "gsm8k_old.json: same model and benchmark as Alpha-7B-Instruct/gsm8k.json, which finished later" \
        in capsys.readouterr().err
    math_table = pd.read_csv(tmp_path / "out" / "tables" / "math.csv")
    assert math_table[math_table.source == "measured"].gsm8k.tolist() == [62.0]


def _variant(results, name, **changes):
    """A copy of Alpha's result under another protocol (as `run` writes it: <benchmark>.<identity>.json)."""
    data = json.loads((FIXTURES / "Alpha-7B-Instruct" / f"{name.split('.')[0]}.json").read_text())
    data["protocol"] = {**data["protocol"], **changes.pop("protocol", {})}
    data.update(changes)
    (results / "Alpha-7B-Instruct" / name).write_text(json.dumps(data))


def test_of_several_protocols_the_most_complete_comparable_result_is_shown_and_the_others_named(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "Alpha-7B-Instruct", results / "Alpha-7B-Instruct")
    # a later --limit run, a later full run with other shots, a later full run of fewer items: none replaces it
    _variant(results, "gsm8k.1a2b3c4d.json", protocol={"limit": 3}, n=3, score=99.0,
             provenance={"finished_at": "2030-01-01T00:00:00Z"})
    kmmlu = json.loads((FIXTURES / "Alpha-7B-Instruct" / "kmmlu.json").read_text())["score"]
    _variant(results, "kmmlu.5e6f7a8b.json", protocol={"num_fewshot": 0}, score=98.0,  # the report states 5-shot
             provenance={"finished_at": "2030-01-01T00:00:00Z"})
    render_leaderboard(results, tmp_path / "out", ("md", "csv"))
    err = capsys.readouterr().err
    assert ("skipped Alpha-7B-Instruct/gsm8k.1a2b3c4d.json: same model and benchmark as "
            "Alpha-7B-Instruct/gsm8k.json, which is complete (no --limit) (shown instead)") in err
    assert "kmmlu.5e6f7a8b.json: same model and benchmark as Alpha-7B-Instruct/kmmlu.json, which follows " \
           "the report's stated protocol" in err
    math_table = pd.read_csv(tmp_path / "out" / "tables" / "math.csv")
    assert math_table[math_table.source == "measured"].gsm8k.tolist() == [62.0]
    korean = pd.read_csv(tmp_path / "out" / "tables" / "korean_general.csv")
    assert korean[korean.source == "measured"].kmmlu.tolist() == [pytest.approx(kmmlu)]
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "## Skipped files" in readme and "gsm8k.1a2b3c4d.json: same model and benchmark" in readme
    # among --limit runs alone, the one with more items wins
    (results / "Alpha-7B-Instruct" / "gsm8k.json").unlink()
    _variant(results, "gsm8k.9c0d1e2f.json", protocol={"limit": 2}, n=2, score=50.0)
    render_leaderboard(results, tmp_path / "out2", ("csv",))
    assert "gsm8k.9c0d1e2f.json: same model and benchmark as Alpha-7B-Instruct/gsm8k.1a2b3c4d.json, which has " \
           "more items (3 vs 2)" in capsys.readouterr().err
    math_table = pd.read_csv(tmp_path / "out2" / "tables" / "math.csv")
    assert math_table[math_table.source == "measured"].gsm8k.tolist() == [99.0]


def test_one_suite_split_across_machines_renders_one_leaderboard(tmp_path, capsys):
    """Two results folders (one per machine, each a part of the benchmarks of the same model) -> one row."""
    machine_a, machine_b = tmp_path / "machine_a", tmp_path / "machine_b"
    for folder, benchmarks in ((machine_a, ("gsm8k", "kmmlu")), (machine_b, ("mmlu_pro", "mt_bench"))):
        (folder / "Alpha-7B-Instruct" / "samples").mkdir(parents=True)
        for name in benchmarks:
            shutil.copy(FIXTURES / "Alpha-7B-Instruct" / f"{name}.json", folder / "Alpha-7B-Instruct")
            samples = FIXTURES / "Alpha-7B-Instruct" / "samples" / f"{name}.jsonl"
            if samples.exists():
                shutil.copy(samples, folder / "Alpha-7B-Instruct" / "samples")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["leaderboard", "--results", str(machine_a), str(machine_b),
                              "--out", str(tmp_path / "out"), "--format", "md,csv"])
    assert args.func(args) == 0
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert f"`{machine_a.as_posix()}/Alpha-7B-Instruct/gsm8k.json`" in readme
    assert f"`{machine_b.as_posix()}/Alpha-7B-Instruct/mt_bench.json`" in readme
    general = pd.read_csv(tmp_path / "out" / "tables" / "math.csv")
    assert general[general.source == "measured"].model.tolist() == ["org/Alpha-7B-Instruct"]  # one row, not two
    korean = pd.read_csv(tmp_path / "out" / "tables" / "korean_general.csv")
    assert korean[korean.source == "measured"].kmmlu.notna().all()
    assert "skipped" not in capsys.readouterr().err
    with pytest.raises(BadInputError, match="does not exist"):
        render_leaderboard([machine_a, tmp_path / "absent"], tmp_path / "out3")
    assert not (tmp_path / "out3").exists()


def test_missing_results_folder_is_bad_input_before_any_write(tmp_path):
    with pytest.raises(BadInputError, match="does not exist"):
        render_leaderboard(tmp_path / "absent", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_also_reported_metrics_beside_the_headline(rendered):
    """Every metric of the declaration's score.also (GSM8K: strict-match) in the detail page, CSV and JSON."""
    out, _ = rendered
    page = (out / "benchmarks" / "gsm8k.md").read_text(encoding="utf-8")
    assert "| 62.0 [59.5, 64.5] | stderr | 1319 | 0/0/0 | exact_match,strict-match 60.0 [57.6, 62.4] |" in page
    table = pd.read_csv(out / "tables" / "math.csv")
    alpha = table[table.model == "org/Alpha-7B-Instruct"].iloc[0]
    assert alpha["gsm8k[exact_match,strict-match]"] == pytest.approx(60.0)
    assert alpha["gsm8k[exact_match,strict-match]_ci_low"] < 60.0 < alpha["gsm8k[exact_match,strict-match]_ci_high"]
    document = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    math_rows = next(t for t in document["tables"] if t["id"] == "math")["rows"]
    assert [r["gsm8k[exact_match,strict-match]"] for r in math_rows if r["model"] == "Beta 7B"] == [38.0]


def test_recorded_judge_block_is_compared_by_model_and_never_printed_as_a_repr(tmp_path):
    results = tmp_path / "results" / "Alpha-7B-Instruct"
    shutil.copytree(FIXTURES / "Alpha-7B-Instruct", results)
    result = json.loads((results / "mt_bench.json").read_text(encoding="utf-8"))
    result["protocol"]["judge"] = {"model": "gpt-4-0613", "prompts": "fastchat", "repeats": 1, "temperature": 0.0}
    (results / "mt_bench.json").write_text(json.dumps(result), encoding="utf-8")
    komt = json.loads((results / "komt_bench.json").read_text(encoding="utf-8"))
    komt["protocol"]["judge"] = {"model": "gpt-4-0613", "repeats": 1}
    (results / "komt_bench.json").write_text(json.dumps(komt), encoding="utf-8")
    render_leaderboard(tmp_path / "results", tmp_path / "out")
    pages = [(tmp_path / "out" / "README.md").read_text(encoding="utf-8")] + [
        p.read_text(encoding="utf-8") for p in (tmp_path / "out" / "benchmarks").glob("*.md")]
    assert not any("{'" in page or "'model'" in page for page in pages)
    assert "chat template on, judge gpt-4-0613 |" in pages[0]
    assert "| **org/Alpha-7B-Instruct** | measured | 6.21 [5.56, 6.84] |" in pages[0]  # no flag letter


def test_macro_over_single_item_subjects_gets_a_real_interval(tmp_path):
    """A KMMLU run of one item per subject (e.g. a demo) has no per-subject stderr: the interval comes
    from bootstrapping the items, not a degenerate [x, x]."""
    run = tmp_path / "results" / "Alpha"
    (run / "samples").mkdir(parents=True)
    result = json.loads((FIXTURES / "Alpha-7B-Instruct" / "kmmlu.json").read_text(encoding="utf-8"))
    scores = [float(i % 3 == 0) for i in range(45)]
    rows = [{"item": f"s{i}/0", "score": s, "group": f"s{i}", "pred": None, "label": None} for i, s in enumerate(scores)]
    (run / "samples" / "kmmlu.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result |= {"score": 100 * sum(scores) / 45, "metrics": {"acc": sum(scores) / 45}, "n": 45,
               "subscores": {f"s{i}": 100 * s for i, s in enumerate(scores)}}
    (run / "kmmlu.json").write_text(json.dumps(result), encoding="utf-8")
    render_leaderboard(tmp_path / "results", tmp_path / "out", ("csv",))
    table = pd.read_csv(tmp_path / "out" / "tables" / "korean_general.csv")
    alpha = table[table.source == "measured"].iloc[0]
    assert alpha.kmmlu == pytest.approx(100 / 3, abs=0.01)
    assert alpha.kmmlu_ci_low < alpha.kmmlu - 5 and alpha.kmmlu_ci_high > alpha.kmmlu + 5
