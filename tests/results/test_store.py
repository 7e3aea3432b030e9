"""Result files: atomic writes, torn caches, schema validation, no secrets."""

import json
import os
import stat

import pytest

from evalsuite.errors import BadInputError
from evalsuite.results.identity import (
    identity_of, locate_result, result_identity, samples_file, work_folder,
)
from evalsuite.results.schema import build_result, load_result, validate_result
from evalsuite.results.store import (
    check_output_folder, model_slug, result_path, write_json_atomic,
)


def _result(**overrides):
    result = build_result(
        benchmark="kmmlu",
        model={"name": "m", "type": "hf", "args": {"pretrained": "x", "api_key": "sk-secret"}, "revision": None},
        protocol={"num_fewshot": 5, "limit": None},
        score=44.5,
        metrics={"acc": 0.445},
        subscores={},
        n=10,
        failures=None,
        provenance={},
        samples="samples/kmmlu.jsonl",
    )
    result.update(overrides)
    return result


def test_build_result_is_valid_and_drops_secrets():
    result = _result()
    assert validate_result(result) == []
    assert "api_key" not in result["model"]["args"]
    assert result["failures"] == {"parse": 0, "api": 0, "timeout": 0}


@pytest.mark.parametrize(
    "broken, problem",
    [({"score": "high"}, "score"), ({"schema_version": 2}, "schema_version"), ({"n": True}, "n")],
)
def test_validate_result_names_the_problem(broken, problem):
    assert any(problem in p for p in validate_result(_result(**broken)))


def test_load_result_rejects_foreign_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(BadInputError, match="not an evalsuite result"):
        load_result(path)
    path.write_text("{not json")
    with pytest.raises(BadInputError, match="not a readable result"):
        load_result(path)


def test_atomic_write_leaves_no_temp_file_and_keeps_old_on_failure(tmp_path, monkeypatch):
    path = result_path(tmp_path, "m", "kmmlu")
    write_json_atomic(path, {"a": 1})

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(path.parent) == ["kmmlu.json"]


def test_model_slug_is_filesystem_safe():
    assert model_slug("LGAI-EXAONE/EXAONE-3.0-7.8B-Instruct") == "EXAONE-3.0-7.8B-Instruct"
    assert model_slug("a b:c/") == "a_b_c"
    assert [model_slug(name) for name in ("..", ".", "../..", ".hidden", "")] == ["model", "model", "model", "hidden", "model"]


def test_identity_covers_protocol_model_type_and_arguments_but_not_execution_settings():
    stored = _result()
    model = {"type": "hf", "args": {"pretrained": "x"}}
    same = result_identity(stored["protocol"], model)
    assert identity_of(stored) == same  # recomputed from the stored protocol and (scrubbed) arguments
    assert result_identity({**stored["protocol"], "limit": 5}, model) != same
    assert result_identity({**stored["protocol"], "num_fewshot": 0}, model) != same
    assert result_identity(stored["protocol"], {"type": "hf", "args": {"pretrained": "y"}}) != same
    assert result_identity(stored["protocol"], {"type": "hf", "args": {"pretrained": "x", "revision": "abc"}}) != same
    assert result_identity(stored["protocol"], {"type": "vllm", "args": {"pretrained": "x"}}) != same
    assert result_identity(stored["protocol"], {"type": "hf", "args": {"pretrained": "x", "num_concurrent": 8,
                                                                       "batch_size": 4}}) == same
    assert identity_of({**stored, "identity": "0123abcd"}) == "0123abcd"  # a recorded identity wins


def _write(tmp_path, result):
    path, existing = locate_result(tmp_path, "m", "kmmlu", identity_of(result))
    write_json_atomic(path, result)
    return path, existing


def test_a_result_of_another_identity_never_overwrites_and_each_is_found_again(tmp_path):
    full = _result()
    limited = _result(protocol={"num_fewshot": 5, "limit": 3})
    plain, existing = _write(tmp_path, full)
    assert plain == tmp_path / "m" / "kmmlu.json" and existing is None  # the first takes the plain name
    keyed, _ = _write(tmp_path, limited)
    assert keyed == tmp_path / "m" / f"kmmlu.{identity_of(limited)}.json"
    assert load_result(plain)["protocol"]["limit"] is None  # untouched
    assert locate_result(tmp_path, "m", "kmmlu", identity_of(full)) == (plain, load_result(plain))
    assert locate_result(tmp_path, "m", "kmmlu", identity_of(limited)) == (keyed, load_result(keyed))
    assert samples_file(keyed) == tmp_path / "m" / "samples" / f"kmmlu.{identity_of(limited)}.jsonl"
    assert work_folder(keyed) == tmp_path / "m" / f"kmmlu.{identity_of(limited)}"
    plain.write_text("{damaged")  # an unreadable result is recomputed in its place
    assert locate_result(tmp_path, "m", "kmmlu", identity_of(full)) == (plain, None)


def test_results_are_written_with_the_usual_permissions(tmp_path):
    path = tmp_path / "m" / "b.json"
    write_json_atomic(path, {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_output_folder_checks(tmp_path):
    assert check_output_folder(tmp_path / "new" / "deep") == tmp_path / "new" / "deep"
    assert not (tmp_path / "new").exists()  # a check: nothing is created before the work starts
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInputError, match="is a file"):
        check_output_folder(tmp_path / "f")
    with pytest.raises(BadInputError, match="system folder"):
        check_output_folder("/proc/1")
    with pytest.raises(BadInputError, match="lies below the file"):
        check_output_folder(tmp_path / "f" / "below")
