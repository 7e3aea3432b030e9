"""The report's numbers: averages recomputed from the stored values are exactly the report's; the paper
file keeps only the report (numbers, tables, per-column protocol), the rest comes from declarations."""


import pytest
import yaml

from evalsuite.declarations import discover
from evalsuite.errors import BadInputError
from evalsuite.leaderboard.benchmarks import benchmark_info
from evalsuite.leaderboard.reference import DEFAULT_REFERENCE, PROTOCOL_SETTINGS, load_reference
from evalsuite.leaderboard.tables import build_tables, rounded

from tests.conftest import SHARED_DATA
EXAONE = "EXAONE 3.0 7.8B Inst."


def _exaone_rows():
    tables = build_tables(load_reference(), [])
    return {t.spec.id: (t, next(r for r in t.rows if r.model == EXAONE)) for t in tables}


@pytest.mark.parametrize(
    ("table_id", "expected"),
    [("english_real_world", "57.5"), ("korean_real_world", "8.77"), ("korean_general", "74.1"),
     ("math", "57.1"), ("coding", "59.7")],
)
def test_recomputed_average_is_the_reports(table_id, expected):
    table, row = _exaone_rows()[table_id]
    assert not row.partial
    assert rounded(row.average, table.spec.decimals) == expected
    assert rounded(row.reported_average, table.spec.decimals) == expected
    assert table.mismatches == []


def test_general_average_is_partial_without_musr():
    table, row = _exaone_rows()["general"]
    assert row.partial and row.averaged_columns == 5 and len(table.spec.columns) == 6
    assert "musr" not in load_reference().tables[-1].rows[0].values
    assert row.reported_average == 27.9
    assert rounded(row.average, 1) != "27.9"  # the five stored columns alone do not give the report's figure


def test_english_average_scales_mt_bench_by_ten():
    table, _ = _exaone_rows()["english_real_world"]
    gemma = next(r for r in table.rows if r.model == "Gemma 2 9B Inst.")
    assert gemma.average == pytest.approx((85.2 + 42.1 + 41.5 + 47.5) / 4)


def test_rounding_is_half_up_like_the_report():
    assert rounded(57.525, 1) == "57.5"
    assert rounded(7.995, 2) == "8.00"
    assert rounded(0.25, 1) == "0.3"


def test_paper_file_keeps_only_the_report():
    raw = yaml.safe_load(DEFAULT_REFERENCE.read_text(encoding="utf-8"))
    assert set(raw) == {"report", "provenance", "tables"}  # no benchmarks section: titles, scales are declared
    for table in raw["tables"]:
        for column in table["columns"]:
            assert "chance" not in column and "scale" not in column, column["key"]
            for kind in ("stated", "inferred"):
                assert set(column.get(kind) or {}) <= set(PROTOCOL_SETTINGS), column["key"]


def test_every_measured_column_is_declared_and_titled_by_its_declaration():
    declared = discover()
    reference = load_reference()
    measured = [c for t in reference.tables for c in t.measured_columns]
    assert {c.benchmark for c in measured} <= set(declared)
    for column in measured:
        assert column.title == declared[column.benchmark].title
        assert column.decimals == declared[column.benchmark].score.decimals
        assert column.protocol.stated or column.protocol.inferred, column.key


def test_belebele_column_is_measured_with_inferred_shots():
    reference = load_reference()
    (table, column), = reference.columns_of("belebele")
    assert table.id == "korean_general"
    assert "num_fewshot" not in column.protocol.stated
    assert column.protocol.inferred["num_fewshot"] == discover()["belebele"].num_fewshot


def test_chance_level_comes_from_the_declaration(tmp_path):
    (table, column), = load_reference().columns_of("mmlu_pro")
    assert column.transform == "chance_normalized"
    assert column.chance == discover()["mmlu_pro"].score.chance == 0.10
    broken = DEFAULT_REFERENCE.read_text(encoding="utf-8").replace("benchmark: mmlu_pro", "benchmark: gsm8k")
    (tmp_path / "paper.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(BadInputError, match="declares score.chance"):
        load_reference(tmp_path / "paper.yaml")


def test_undeclared_benchmark_and_unsafe_table_id_are_refused(tmp_path):
    text = DEFAULT_REFERENCE.read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text.replace("benchmark: humaneval", "benchmark: not_declared"), encoding="utf-8")
    with pytest.raises(BadInputError, match="not declared"):
        load_reference(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text(text.replace("id: coding", "id: ../../coding"), encoding="utf-8")
    with pytest.raises(BadInputError, match="plain name"):
        load_reference(tmp_path / "b.yaml")


def test_kmmlu_categories_live_beside_its_declaration():
    kmmlu = discover()["kmmlu"]
    assert kmmlu.categories == kmmlu.path.parent / "kmmlu_categories.yaml"
    info = benchmark_info("kmmlu")
    mapping = yaml.safe_load(kmmlu.categories.read_text(encoding="utf-8"))
    assert len(mapping) == 45
    assert sorted(set(mapping.values())) == ["Applied Science", "HUMSS", "Other", "STEM"]
    assert info.category_of("Agricultural Sciences") == "Other"
    assert info.category_of(f"{kmmlu.lm_eval_task}_math") == "STEM"  # lm-eval subtask names
    assert info.category_of("Not a subject") is None
    assert benchmark_info("gsm8k").category_of("anything") is None


@pytest.mark.shared_data
def test_kmmlu_csv_subjects_all_have_a_category():
    folder = SHARED_DATA / "kmmlu" / "data"
    subjects = {p.name.removesuffix("-test.csv") for p in folder.glob("*-test.csv")}
    assert len(subjects) == 45
    info = benchmark_info("kmmlu")
    assert all(info.category_of(s) for s in subjects), [s for s in subjects if not info.category_of(s)]
