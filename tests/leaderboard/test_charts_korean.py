"""Charts read in Korean: no missing-glyph warning on any chart, radars show categories only."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pytest

from tests.support.browser_support import write_run
from evalsuite.leaderboard import render_leaderboard
from evalsuite.leaderboard.charts import font_settings, hangul_family, radar_chart
from evalsuite.leaderboard.collect import collect_results
from evalsuite.leaderboard.details import radar_data

CATEGORIES = ["추론(Reasoning)", "수학(Math)", "글쓰기(Writing)", "코딩(Coding)", "이해(Understanding)", "문법(Grammar)"]


def _missing_glyphs(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.fixture(scope="module")
def hangul():
    if hangul_family() is None:
        pytest.skip("no Hangul font installed (make setup installs fonts-nanum where root and apt allow)")


def test_the_check_sees_missing_glyphs_without_a_hangul_font(tmp_path):
    def draw():
        with plt.rc_context({"font.family": ["DejaVu Sans"]}):
            figure, axes = plt.subplots()
            axes.set_title("추론")
            figure.savefig(tmp_path / "boxes.png")
            plt.close(figure)
    assert _missing_glyphs(draw)  # the failure this file guards against is detectable


def test_radar_of_korean_categories_draws_every_glyph(hangul, tmp_path):
    data = {"model A": {c: 5.0 + i / 2 for i, c in enumerate(CATEGORIES)}, "모델 B": {c: 6.0 for c in CATEGORIES}}
    assert _missing_glyphs(lambda: radar_chart("LogicKor 카테고리별", data, tmp_path / "radar.png")) == []
    assert font_settings()["font.family"][-1] == hangul_family()


def test_leaderboard_charts_draw_korean_and_radars_show_categories_only(hangul, tmp_path):
    rows = [{"item": f"{q}/turn{t}", "score": 7.0, "group": c, "turn": t, "question_id": q}
            for q, c in enumerate(CATEGORIES) for t in (1, 2)]
    subscores = {c: 7.0 for c in CATEGORIES} | {"single_turn": 7.0, "multi_turn": 7.0}
    protocol = {"num_fewshot": 0, "output": "two_turn_chat", "chat_template": True, "fewshot_as_multiturn": False,
                "metric": "judge_score", "aggregation": "judge_mean", "judge": {"model": "gpt-4-1106-preview"},
                "limit": None}
    path = write_run(tmp_path / "results", "한국어-모델", "logickor", rows, score=7.0, protocol=protocol)
    result = path.read_text(encoding="utf-8").replace('"subscores": {}', '"subscores": ' + str(subscores).replace("'", '"'))
    path.write_text(result, encoding="utf-8")
    found, _ = collect_results(tmp_path / "results")
    (radar,) = radar_data(found).values()
    assert sorted(radar) == sorted(CATEGORIES)  # single_turn / multi_turn are turns, not categories
    assert _missing_glyphs(lambda: render_leaderboard(tmp_path / "results", tmp_path / "out", ("md", "html"))) == []
    assert (tmp_path / "out" / "charts" / "logickor_categories.png").is_file()


def test_intervals_are_drawn_within_the_scores_range(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    original = Axes.bar

    def recording_bar(self, x, height, *args, **kwargs):
        if kwargs.get("yerr") is not None:
            drawn.append((list(height), kwargs["yerr"].tolist()))
        return original(self, x, height, *args, **kwargs)

    monkeypatch.setattr(Axes, "bar", recording_bar)
    rows = [{"item": str(i), "score": float(i == 0)} for i in range(50)]
    write_run(tmp_path / "results", "weak-model", "belebele", rows, score=2.0)  # acc 0.02, stderr 0.01 -> [0.04, 3.96]
    path = tmp_path / "results" / "weak-model" / "belebele.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"acc_stderr": 0.01', '"acc_stderr": 0.05'), encoding="utf-8")
    render_leaderboard(tmp_path / "results", tmp_path / "out", ("md",))
    (heights, (below, above)), = [d for d in drawn if any(h == h and h == 2.0 for h in d[0])]
    column = heights.index(2.0)
    assert heights[column] - below[column] >= 0.0 and below[column] == 2.0  # the interval stops at 0, not -7.8
    assert above[column] > 0
