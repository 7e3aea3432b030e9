"""The report's numbers: averages recomputed from the stored values are exactly the report's."""

from pathlib import Path

import pytest
import yaml

from evalsuite.leaderboard.reference import kmmlu_categories, kmmlu_category, load_reference
from evalsuite.leaderboard.tables import build_tables, rounded

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
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


def test_reference_protocol_agrees_with_the_manifest():
    manifest = yaml.safe_load((REPO / "tasks" / "benchmarks.yaml").read_text(encoding="utf-8"))["benchmarks"]
    reference = load_reference()
    assert set(reference.benchmarks) == set(manifest)
    for name, bench in reference.benchmarks.items():
        assert bench.protocol["num_fewshot"] == manifest[name]["num_fewshot"], name
        assert bench.protocol["aggregation"] == manifest[name]["aggregation"], name
        assert bench.protocol["output"] == manifest[name]["output"], name
        assert bench.scale == manifest[name]["scale"], name
        metric = bench.protocol["metric"]
        assert manifest[name]["metric"] in (metric if isinstance(metric, list) else [metric]), name
        assert bench.protocol["limit"] is None


def test_kmmlu_categories_cover_45_subjects_in_4_categories():
    categories = kmmlu_categories()
    assert len(categories) == 45
    assert sorted(set(categories.values())) == ["Applied Science", "HUMSS", "Other", "STEM"]
    assert kmmlu_category("Agricultural Sciences") == "Other"
    assert kmmlu_category("kmmlu_industrial_engineer") == "Applied Science"
    assert kmmlu_category("es_kmmlu_math") == "STEM"
    assert kmmlu_category("Not a subject") is None


@pytest.mark.shared_data
def test_kmmlu_csv_subjects_all_have_a_category():
    folder = SHARED_DATA / "kmmlu" / "data"
    if not folder.is_dir():
        pytest.skip("../shared/data is absent")
    subjects = {p.name.removesuffix("-test.csv") for p in folder.glob("*-test.csv")}
    assert len(subjects) == 45
    assert all(kmmlu_category(s) for s in subjects), [s for s in subjects if not kmmlu_category(s)]
