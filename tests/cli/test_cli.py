"""The command line: listings, and bad input as one clear line with exit code 2."""

import pytest
from tests.conftest import FIXTURE_DATA, run_cli

from evalsuite.cli import main
from evalsuite.declarations import discover
from evalsuite.errors import BadInputError
from evalsuite.models.loader import parse_model_args


def _one_line_error(done, fragment):
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and fragment in lines[-1], done.stderr
    assert "Traceback" not in done.stderr


def test_tasks_lists_every_benchmark_in_100_columns_and_details_one():
    done = run_cli("tasks")
    assert done.returncode == 0, done.stderr
    for name in discover():
        assert f"| {name} " in done.stdout
    assert "exact_match,flexible-extract" in done.stdout and "suite paper = " in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
    details = run_cli("tasks", "KMMLU")  # names are case-insensitive
    assert details.returncode == 0, details.stderr
    fields = dict(line.split(":", 1) for line in details.stdout.splitlines() if not line.startswith(" "))
    assert fields["task"].strip() == "kmmlu" and fields["aggregation"].strip() == "macro"
    assert "lm-eval task es_kmmlu" in fields["runs as"] and "kmmlu/data/" in fields["--data_dir layout"]
    assert max(len(line) for line in details.stdout.splitlines()) <= 100
    _one_line_error(run_cli("tasks", "kmmlu2"), "did you mean kmmlu?")


def test_unknown_task(tmp_path):
    _one_line_error(run_cli("run", "--tasks", "kmmlu,nope", "--output_path", str(tmp_path)), "unknown task 'nope'")


def test_unknown_model_type(tmp_path):
    done = run_cli("run", "--model", "nonsense", "--tasks", "kobest_copa", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path))
    _one_line_error(done, "unknown model type 'nonsense'")


def test_bad_model_args(tmp_path):
    done = run_cli("run", "--model", "hf", "--model_args", "pretrained", "--tasks", "kobest_copa",
                   "--output_path", str(tmp_path))
    _one_line_error(done, "--model_args")


def test_missing_model_folder(tmp_path):
    done = run_cli("run", "--model", "hf", "--model_args", f"pretrained={tmp_path / 'nothing'}",
                   "--tasks", "kobest_copa", "--data_dir", str(FIXTURE_DATA), "--output_path", str(tmp_path))
    _one_line_error(done, "cannot load model")


def test_humaneval_needs_the_opt_in_before_anything_runs(tmp_path):
    done = run_cli("run", "--tasks", "gsm8k,humaneval", "--output_path", str(tmp_path))
    _one_line_error(done, "--allow_code_execution")
    assert not any(tmp_path.iterdir()), "nothing may run before the opt-in check"


def test_missing_data_dir(tmp_path):
    done = run_cli("run", "--tasks", "gsm8k", "--data_dir", str(tmp_path / "missing"), "--output_path", str(tmp_path))
    _one_line_error(done, "--data_dir")


def test_no_tasks_is_bad_input(tmp_path):
    _one_line_error(run_cli("run", "--output_path", str(tmp_path)), "--tasks")


def test_debug_shows_the_traceback(tmp_path):
    done = run_cli("--debug", "run", "--tasks", "nope", "--output_path", str(tmp_path))
    assert done.returncode == 2 and "Traceback" in done.stderr


@pytest.mark.parametrize("text", ["pretrained", "=x", "a=1,b"])
def test_bad_model_args_are_bad_input(text):
    with pytest.raises(BadInputError, match="model_args"):
        parse_model_args(text)


def test_model_args_parse_like_lm_eval():
    from lm_eval.utils import simple_parse_args_string

    assert parse_model_args("pretrained=a/b,dtype=bfloat16,,") == {"pretrained": "a/b", "dtype": "bfloat16"}
    text = ("pretrained=a/b,trust_remote_code=False,tokenized_requests=false,max_length=2048,temperature=0.5,"
            "add_bos_token=True,base_url=http://h:8/v1/completions?x=1")
    parsed = parse_model_args(text)
    assert parsed == simple_parse_args_string(text)  # lm-eval's own semantics, not a copy of them
    assert parsed["trust_remote_code"] is False and parsed["tokenized_requests"] is False  # not the string "False"
    assert parsed["add_bos_token"] is True and parsed["max_length"] == 2048 and parsed["temperature"] == 0.5
    assert parsed["base_url"] == "http://h:8/v1/completions?x=1"


def test_model_args_are_recorded_with_their_types_and_only_credentials_dropped():
    from evalsuite.models.loader import recorded_args

    args = parse_model_args("model=m,tokenizer=gpt2,tokenized_requests=False,max_tokens=16,num_concurrent=4,"
                            "api_key=sk-1,token=hf_x,HF_TOKEN=hf_y,Authorization=Bearer z,tokenizer_backend=hf")
    assert recorded_args(args) == {"model": "m", "tokenizer": "gpt2", "tokenized_requests": False, "max_tokens": 16,
                                   "num_concurrent": 4, "tokenizer_backend": "hf"}


def test_a_changed_tokenizer_argument_is_not_resumed(tmp_path):
    """Resume compares the recorded arguments: tokenizer= is one of them (it was dropped as a "secret"),
    so another tokenizer is another result identity."""
    from evalsuite.declarations import get_benchmark
    from evalsuite.models.loader import recorded_args
    from evalsuite.results.identity import result_identity
    from evalsuite.runner.options import RunOptions
    from evalsuite.runner.protocol import lm_eval_protocol

    options = RunOptions(model="local-completions", model_args="model=m,tokenizer=a", output_path=tmp_path)
    protocol = lm_eval_protocol(get_benchmark("gsm8k"), options, False)

    def identity(args: str) -> str:
        return result_identity(protocol, {"type": "local-completions", "args": recorded_args(parse_model_args(args))})

    assert identity("model=m,tokenizer=a") == identity("model=m,tokenizer=a")
    assert identity("model=m,tokenizer=a") != identity("model=m,tokenizer=b")


def _main_error(capsys, argv: list[str], fragment: str) -> None:
    """In-process: exit 2 and one `error:`/usage line naming the problem, before any work."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse rejects a bad flag value with its usage line
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-3", "2.5", "1e30x"])
def test_limit_must_be_a_positive_finite_count_or_fraction(capsys, tmp_path, value):
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--limit", value, "--output_path", str(tmp_path)], "--limit")


@pytest.mark.parametrize("value", ["-5", "65", "x"])
def test_num_fewshot_is_checked(capsys, tmp_path, value):
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--num_fewshot", value, "--output_path", str(tmp_path)],
                "--num_fewshot")


def test_output_path_that_is_a_file_or_a_system_folder_is_bad_input_before_any_work(capsys, tmp_path):
    a_file = tmp_path / "results.txt"
    a_file.write_text("{}")
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--output_path", str(a_file)], "is a file")
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--output_path", "/proc/self/results"], "system folder")
    assert a_file.read_text() == "{}"


@pytest.mark.parametrize("argv,fragment", [
    (["run", "--tasks", "mt_bench", "--judge_repeat", "3"], "did you mean --judge_repeats?"),  # no abbreviation
    (["run", "--task", "gsm8k"], "did you mean --tasks?"),
    (["run", "--tasks", "gsm8k", "--batch_size", "x"], "--batch_size takes an integer"),
    (["nope"], "invalid choice"),
])
def test_argparse_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and fragment in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "usage:" not in err


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: embedded)", "(default 8;", "(default: results)", "(default: 1234)",
                  "(default: 1000)", "(default 16)"):
        assert shown in text, shown
    assert "--log_samples" in text and "always written" in text


def test_log_samples_is_accepted_and_output_path_must_be_a_folder(capsys, tmp_path):
    from evalsuite.cli import build_parser

    args = build_parser().parse_args(["run", "--tasks", "gsm8k", "--log_samples", "--output_path", str(tmp_path)])
    assert args.log_samples is True and args.output_path == tmp_path
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--output_path", str(tmp_path / "res.json")], "names a file")
    assert not (tmp_path / "res.json").exists()


def test_benchmark_names_are_case_insensitive_with_did_you_mean():
    from evalsuite.declarations import resolve_benchmarks

    assert [b.name for b in resolve_benchmarks("GSM8K,KoBEST_CoPA", "Paper")][:2] == ["arc_challenge", "bbh"]
    assert [b.name for b in resolve_benchmarks("MT_Bench,KOBEST", None)][:2] == ["mt_bench", "kobest_boolq"]
    with pytest.raises(BadInputError, match="did you mean gsm8k"):
        resolve_benchmarks("gsm8", None)
    with pytest.raises(BadInputError, match="did you mean paper"):
        resolve_benchmarks(None, "papr")
    with pytest.raises(BadInputError, match="unknown task 'zzz' .known: "):
        resolve_benchmarks("zzz", None)


def test_busy_cpu_suggests_threads_and_threads_sets_torch(monkeypatch):
    import torch

    from evalsuite.models.threads import THREAD_VARIABLES, busy_cpu_note, set_threads

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert busy_cpu_note(load=0.3, cores=2) is None
    note = busy_cpu_note(load=6.5, cores=2)
    assert note.startswith("note: ") and "--threads 1" in note and "\n" not in note
    assert "--threads 3" in busy_cpu_note(load=4.6, cores=8)
    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1 and busy_cpu_note(load=9, cores=2) is None  # chosen: no note
    finally:
        torch.set_num_threads(before)
        for name in THREAD_VARIABLES:
            monkeypatch.delenv(name, raising=False)


def test_data_files_are_checked_before_the_model_loads(tmp_path):
    data = tmp_path / "data"
    (data / "gsm8k").mkdir(parents=True)
    (data / "gsm8k" / "test.jsonl").write_text('{"question": "1+1?", "answer": "#### 2"}\n')
    done = run_cli("run", "--tasks", "gsm8k", "--data_dir", str(data), "--output_path", str(tmp_path / "out"))
    _one_line_error(done, "missing data file")
    assert "train.jsonl" in done.stderr and "loading model" not in done.stderr
    (data / "gsm8k" / "train.jsonl").write_text('{"question": "1+1?"}\n')  # a row without its answer
    done = run_cli("run", "--tasks", "gsm8k", "--data_dir", str(data), "--output_path", str(tmp_path / "out"))
    _one_line_error(done, "train.jsonl")
    assert "answer" in done.stderr and "loading model" not in done.stderr


def test_a_missing_judge_key_is_reported_before_the_model_loads(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess_run_without_key(env, "run", "--tasks", "mt_bench", "--data_dir", str(FIXTURE_DATA),
                                      "--limit", "1", "--output_path", str(tmp_path))
    _one_line_error(done, "OPENAI_API_KEY")
    assert "loading model" not in done.stderr


def subprocess_run_without_key(env: dict, *args: str):
    import subprocess
    import sys

    from tests.conftest import REPO

    return subprocess.run([sys.executable, str(REPO / "run_eval.py"), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)


def test_model_name_names_the_run_of_run_and_demo(tmp_path):
    """Two checkpoints with the same folder name: --model_name gives the second a results folder of its own."""
    from evalsuite.cli import _run_options, build_parser
    from evalsuite.runner.run import run_slug

    parser = build_parser()
    args = parser.parse_args(["run", "--model", "hf", "--model_args", "pretrained=/ckpts/a/step-100", "--tasks", "gsm8k"])
    assert run_slug(_run_options(args, judge_needed=False)) == "step-100"
    args = parser.parse_args(["run", "--model", "hf", "--model_args", "pretrained=/ckpts/b/step-100",
                              "--model_name", "b-step-100", "--tasks", "gsm8k"])
    assert run_slug(_run_options(args, judge_needed=False)) == "b-step-100"
    assert parser.parse_args(["demo", "--model_name", "smol-demo"]).model_name == "smol-demo"


def test_control_characters_in_an_error_never_reach_the_terminal(capsys):
    """An error message quotes what the user, a file, a server or a judge wrote: an ANSI escape or a
    carriage return in it is printed as "?", so it cannot clear the screen or rewrite the line."""
    code = main(["run", "--tasks", "gsm8k\x1b[2J\rzz\x07", "--output_path", "/tmp"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not any(ch in err for ch in "\x1b\r\x07") and "gsm8k?[2J?zz?" in err
