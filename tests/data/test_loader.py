"""The one declared-dataset loader: upstream layouts -> the Hub's columns, one-line errors, the Hub path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalsuite.data import DATA_DIR_ENV, resolve_data_dir
from evalsuite.data.loader import chosen_source, data_provenance, features_of, load_declared_dataset, read_rows
from evalsuite.declarations import discover, get_benchmark, task_dataset_kwargs
from evalsuite.errors import BadInputError

from tests.conftest import FIXTURE_DATA as FIXTURES
GENERIC = [b for b in discover().values() if b.engine == "lm_eval" and b.data.local is not None]


@pytest.fixture
def hub_offline(monkeypatch):
    """No data dir anywhere and the Hub in offline mode, so a Hub load fails at once (as without internet)."""
    import datasets
    import huggingface_hub.constants

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize("benchmark", GENERIC, ids=lambda b: b.name)
def test_every_declared_layout_loads_its_fixture_with_the_declared_features(benchmark):
    for kwargs in task_dataset_kwargs(benchmark.name):  # every subtask of a templated layout
        _loads_with_the_declared_features(benchmark, load_declared_dataset(data_dir=str(FIXTURES), **kwargs))


def _loads_with_the_declared_features(benchmark, data):
    assert set(data) == set(benchmark.data.local.splits)
    for split in data.values():
        assert len(split) > 0
        assert split.features == features_of(benchmark.data.local)
        assert split.column_names == list(benchmark.data.local.features)


def test_kobest_columns_labels_and_stray_quotes():
    boolq = load_declared_dataset("kobest_boolq", str(FIXTURES))
    assert boolq["train"]["label"] == [1, 0, 1, 0, 1, 0]  # TRUE, FALSE, True, False, TRUE, FALSE
    assert boolq["train"][4]["paragraph"] == '"백두산"은 북쪽에 있는 산이다.'  # QUOTE_NONE keeps quotes
    copa = load_declared_dataset("kobest_copa", str(FIXTURES))
    assert copa["train"]["label"] == [0, 0, 1, 1, 0]
    assert copa["train"][0] == {
        "premise": "비가 내렸다.", "question": "결과",
        "alternative_1": "땅이 젖었다.", "alternative_2": "땅이 말랐다.", "label": 0,
    }
    wic = load_declared_dataset("kobest_wic", str(FIXTURES))["train"][0]
    assert wic == {"word": "배", "context_1": "[배]가 고프다.", "context_2": "[배]를 타고 강을 건넜다.", "label": 0}
    hellaswag = load_declared_dataset("kobest_hellaswag", str(FIXTURES))
    assert hellaswag["train"]["label"] == [0, 1, 2, 3, 0]
    sentineg = load_declared_dataset("kobest_sentineg", str(FIXTURES))
    assert sentineg["validation"][1] == {"sentence": "별로예요", "label": 0}  # dev.tsv is ID Label Text
    assert sentineg["test"][0] == {"sentence": "포장이 마음에 듬", "label": 1}  # the negated sentence


def test_mmlu_pro_keeps_question_3983_as_published():
    data = load_declared_dataset("mmlu_pro", str(FIXTURES))
    assert [len(options) for options in data["test"]["options"]][:4] == [3, 10, 4, 5]
    row = [r for r in data["test"] if r["question_id"] == 3983][0]
    assert row["answer"] == "C" and row["answer_index"] == 1


def _copy(tmp_path: Path, folder: str) -> Path:
    shutil.copytree(FIXTURES / folder, tmp_path / folder)
    return tmp_path / folder


def _rewrite_jsonl(path: Path, edit) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    edit(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize(
    ("folder", "file", "edit", "message"),
    [
        ("mmlu_pro", "test.jsonl", lambda rows: rows[0].update(answer="D"), r"test\.jsonl: row 1: answer is not one of the option letters"),
        ("mmlu_pro", "test.jsonl", lambda rows: rows[1].pop("options"), r"test\.jsonl: row 2 lacks column options"),
        ("mmlu_pro", "test.jsonl", lambda rows: rows[0].update(question_id="x"), r"row 1 column question_id is 'x', expected int64"),
        ("mmlu_pro", "test.jsonl", lambda rows: rows[0].update(options="A"), r"row 1 column options .* expected list\[string\]"),
        ("gsm8k", "test.jsonl", lambda rows: rows[0].update(answer="2"), r"test\.jsonl: row 1: answer has no '#### <number>' line"),
        ("belebele/Belebele", "kor_Hang.jsonl", lambda rows: rows[2].update(correct_answer_num="5"), r"row 3: correct_answer_num is not 1-4"),
    ],
)
def test_bad_rows_are_one_line_errors(tmp_path, folder, file, edit, message):
    _rewrite_jsonl(_copy(tmp_path, folder) / file, edit)
    name = folder.split("/")[0]
    with pytest.raises(BadInputError, match=message) as caught:
        load_declared_dataset(name, str(tmp_path))
    assert "\n" not in str(caught.value)


def test_bad_label_names_file_and_row(tmp_path):
    path = _copy(tmp_path, "kobest") / "BoolQ" / "test.tsv"
    path.write_bytes(path.read_bytes().replace(b"\tFalse\r\n", b"\tmaybe\r\n"))
    with pytest.raises(BadInputError, match=r"BoolQ/test\.tsv: row 2 has Answer='maybe'"):
        load_declared_dataset("kobest_boolq", str(tmp_path))


def test_ragged_row_is_bad_input(tmp_path):
    path = _copy(tmp_path, "kobest") / "COPA" / "train.tsv"
    path.write_bytes(path.read_bytes() + "9\t문장\t결과\t하나\r\n".encode())
    with pytest.raises(BadInputError, match=r"COPA/train\.tsv: line 7 has 4 fields, the header has 6"):
        load_declared_dataset("kobest_copa", str(tmp_path))


def test_missing_split_file_is_bad_input(tmp_path):
    (_copy(tmp_path, "kobest") / "WiC" / "dev.tsv").unlink()
    with pytest.raises(BadInputError, match=r"missing data file .*WiC/dev\.tsv"):
        load_declared_dataset("kobest_wic", str(tmp_path))


def test_broken_json_line_and_non_utf8_are_bad_input(tmp_path):
    folder = _copy(tmp_path, "mmlu_pro")
    with open(folder / "validation.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"question_id": 99, "question": \n')
    with pytest.raises(BadInputError, match=r"validation\.jsonl: line 71 is not valid JSON"):  # after the 70 official rows
        load_declared_dataset("mmlu_pro", str(tmp_path))
    folder = _copy(tmp_path, "gsm8k")
    (folder / "train.jsonl").write_bytes('{"question": "é"}\n'.encode("latin-1"))
    with pytest.raises(BadInputError, match=r"train\.jsonl: not UTF-8"):
        load_declared_dataset("gsm8k", str(tmp_path))


def test_environment_variable_is_honored_and_argument_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(FIXTURES))
    assert len(load_declared_dataset("gsm8k")["test"]) == 2
    assert resolve_data_dir(tmp_path) == tmp_path
    monkeypatch.delenv(DATA_DIR_ENV)
    assert resolve_data_dir(None) is None
    with pytest.raises(BadInputError, match="does not exist"):
        resolve_data_dir(tmp_path / "nowhere")


@pytest.mark.parametrize("benchmark", [b for b in discover().values() if b.data.hub], ids=lambda b: b.name)
def test_hub_failure_is_one_line_with_the_data_dir_hint(hub_offline, benchmark):
    kwargs = task_dataset_kwargs(benchmark.name)[0]  # a subtask's, where the layout has one per subtask
    with pytest.raises(BadInputError, match=benchmark.data.hub) as caught:
        load_declared_dataset(**kwargs)
    message = str(caught.value)
    assert "\n" not in message and "--data_dir" in message and DATA_DIR_ENV in message
    assert benchmark.data.local_layout.split("/")[0] in message


def test_provenance_records_the_source_actually_used(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    packaged = next(b for b in discover().values() if b.data.package_file)
    hub = get_benchmark("gsm8k") if "gsm8k" in discover() else next(b for b in GENERIC if b.data.hub)
    assert data_provenance(hub, FIXTURES)["source"] == "local"
    assert data_provenance(hub, None) == {"source": "hf", "path": hub.data.hub, "name": hub.data.hub_name,
                                          "revision": hub.data.revision}
    assert chosen_source(packaged, None) == "package"
    judged = next(b for b in discover().values() if b.engine == "judge")
    assert chosen_source(judged, FIXTURES) != "local" or judged.data.local or judged.data.loader


def test_read_rows_from_the_packaged_file():
    packaged = next(b for b in discover().values() if b.data.package_file)
    path, rows = read_rows(packaged, "test")
    assert path.name.endswith(".gz") and len(rows) == packaged.data.counts["test"]


def test_deeply_nested_json_line_is_one_line_error(tmp_path):
    folder = _copy(tmp_path, "gsm8k")
    (folder / "test.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"test\.jsonl: line 1 is nested too deeply"):
        load_declared_dataset("gsm8k", str(tmp_path))
