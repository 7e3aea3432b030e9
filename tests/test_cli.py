"""The command line: listings, and bad input as one clear line with exit code 2."""

import pytest
from conftest import FIXTURE_DATA, run_cli

from evalsuite.cli import main
from evalsuite.declarations import discover
from evalsuite.errors import BadInputError
from evalsuite.models.loader import parse_model_args


def _one_line_error(done, fragment):
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and fragment in lines[-1], done.stderr
    assert "Traceback" not in done.stderr


def test_tasks_lists_every_benchmark_with_its_protocol():
    done = run_cli("tasks")
    assert done.returncode == 0, done.stderr
    for name in discover():
        assert f"| {name} " in done.stdout
    assert "macro" in done.stdout and "exact_match,flexible-extract" in done.stdout


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
    assert parse_model_args("pretrained=a/b,dtype=bfloat16,,") == {"pretrained": "a/b", "dtype": "bfloat16"}


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
    a_file = tmp_path / "results.json"
    a_file.write_text("{}")
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--output_path", str(a_file)], "is a file")
    _main_error(capsys, ["run", "--tasks", "gsm8k", "--output_path", "/proc/self/results"], "system folder")
    assert a_file.read_text() == "{}"


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
