"""Where data comes from: --data_dir, $EVALSUITE_DATA_DIR, else the Hub (whose failure is one line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalsuite.data import DATA_DIR_ENV, resolve_data_dir, sample_group, sample_item
from evalsuite.data.gsm8k import load_gsm8k
from evalsuite.data.kmmlu import load_kmmlu
from evalsuite.data.kobest import load_kobest
from evalsuite.data.mmlu_pro import load_mmlu_pro
from evalsuite.errors import BadInputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


@pytest.fixture
def hub_offline(monkeypatch):
    """No data dir anywhere and the Hub in offline mode, so a Hub load fails at once (as without internet)."""
    import datasets
    import huggingface_hub.constants

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_argument_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir(FIXTURES) == FIXTURES
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir("") == tmp_path


def test_environment_variable_is_honored(monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(FIXTURES))
    assert len(load_gsm8k()["test"]) == 2


def test_no_data_dir_means_the_hub(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_dir(None) is None


def test_missing_data_dir_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="does not exist"):
        resolve_data_dir(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("load", "hub_id", "layout"),
    [
        (lambda: load_kmmlu("Accounting"), r"HAERAE-HUB/KMMLU \(Accounting\)", "kmmlu/data/"),
        (lambda: load_kobest("copa"), r"skt/kobest_v1 \(copa\)", "kobest/<Task>/"),
        (lambda: load_mmlu_pro(), r"TIGER-Lab/MMLU-Pro", "mmlu_pro/"),
        (lambda: load_gsm8k(), r"openai/gsm8k \(main\)", "gsm8k/"),
    ],
)
def test_hub_failure_is_one_line_with_the_data_dir_hint(hub_offline, load, hub_id, layout):
    with pytest.raises(BadInputError, match=hub_id) as caught:
        load()
    message = str(caught.value)
    assert "\n" not in message
    assert "--data_dir" in message and DATA_DIR_ENV in message and layout in message


def test_sample_group_and_item():
    assert sample_group("kmmlu", "es_kmmlu_korean_history", {"Category": "Korean History"}) == "Korean-History"
    assert sample_group("mmlu_pro", "es_mmlu_pro", {"category": "law", "question_id": 7}) == "law"
    assert sample_group("kobest_copa", "es_kobest_copa", {"label": 1}) is None
    assert sample_item("kmmlu", "es_kmmlu_accounting", {}, 12) == "Accounting/12"
    assert sample_item("mmlu_pro", "es_mmlu_pro", {"question_id": 3983}, 0) == "3983"
    assert sample_item("gsm8k", "es_gsm8k", {}, 5) == "5"
