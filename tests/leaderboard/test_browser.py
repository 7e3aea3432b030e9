"""The results browser in a real headless Chromium: its tables are the markdown's, filters and search
change the listed items, hostile texts stay text, and a 35,030-item page is interactive within 2 s."""

from __future__ import annotations

import random
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from evalsuite.leaderboard import render_leaderboard
from evalsuite.results.samples import read_samples
from tests.conftest import RESULT_FIXTURES as FIXTURES
from tests.support.browser_support import body_attrs, chromium_binary, dom_elements, dom_tables, dump_dom, write_run

pytestmark = pytest.mark.browser

NAMES = {"org/Beta-7B-Instruct": "Beta 7B"}
MARK = "data-pwned"
HOSTILE = ("<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
           "</script><script>document.body.setAttribute('data-pwned','script')</script>"
           "<a href=\"javascript:document.body.setAttribute('data-pwned','link')\">click</a>"
           "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    chromium_binary()
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(FIXTURES, root / "results")
    out = root / "leaderboards"
    render_leaderboard(root / "results", out, ("md", "html"), NAMES)
    return root, out


def _md_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        if re.fullmatch(r"\|(---\|)+", line):
            continue
        if current is None:
            current = []
            tables.append(current)
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        current.append([_md_text(c) for c in cells])
    return tables


def _md_text(cell: str) -> str:
    if len(cell) >= 4 and cell.startswith("**") and cell.endswith("**"):
        cell = cell[2:-2]
    elif len(cell) >= 2 and cell.startswith("`") and cell.endswith("`"):
        cell = cell[1:-1]
    return cell.replace("\\|", "|")


def _url(path: Path, **state: str) -> str:
    hash_ = "&".join(f"{k}={quote(v, safe='')}" for k, v in state.items())
    return path.as_uri() + (f"#{hash_}" if hash_ else "")


def test_index_tables_are_the_markdowns(site):
    _, out = site
    dom, _ = dump_dom(_url(out / "index.html"))
    assert body_attrs(dom).get("data-ready", "error") != "error"
    markdown = _md_tables((out / "README.md").read_text(encoding="utf-8"))
    shown = dom_tables(dom)
    assert len(shown) == len(markdown) >= 8
    for md, html in zip(markdown, shown):
        assert html == md
    assert 'src="charts/korean_general.png"' in dom


def test_benchmark_page_lists_the_runs_and_links_the_items(site):
    _, out = site
    dom, _ = dump_dom(_url(out / "site" / "benchmark" / "kmmlu.html"))
    markdown = _md_tables((out / "benchmarks" / "kmmlu.md").read_text(encoding="utf-8"))
    shown = dom_tables(dom)
    assert shown[0] == markdown[0]  # the per-model summary
    assert 'href="../../site/items/kmmlu/Alpha-7B-Instruct.html"' in dom
    assert 'href="../../site/compare/kmmlu/Beta_7B--Alpha-7B-Instruct.html"' in dom


def _shown(path: Path, **state: str) -> tuple[int, str]:
    dom, _ = dump_dom(_url(path, **state))
    attrs = body_attrs(dom)
    assert attrs.get("data-ready", "error") != "error", dom[-2000:]
    return int(attrs["data-shown"]), dom


def test_filters_and_search_change_the_listed_items(site):
    root, out = site
    rows = read_samples(root / "results" / "Alpha-7B-Instruct" / "samples" / "kmmlu.jsonl")
    page = out / "site" / "items" / "kmmlu" / "Alpha-7B-Instruct.html"
    assert _shown(page)[0] == len(rows) == 72
    wrong = sum(1 for r in rows if r["score"] == 0)
    assert 0 < _shown(page, status="wrong")[0] == wrong < len(rows)
    assert _shown(page, status="correct")[0] == len(rows) - wrong
    group = rows[-1]["group"]
    assert _shown(page, group=group)[0] == sum(1 for r in rows if r["group"] == group)
    count, dom = _shown(page, q="accounting/1")
    assert count == sum(1 for r in rows if "accounting/1" in r["item"].lower()) and 'data-item="Accounting/1"' in dom
    assert _shown(page, q="no such item anywhere")[0] == 0
    count, dom = _shown(page, size="25")
    assert count == 72 and dom.count('class="item ') == 25 and "page 1 of 3" in dom
    assert _shown(page, size="25", page="3")[1].count('class="item ') == 72 - 50


def test_compare_page_puts_disagreements_first_with_the_paired_test(site):
    root, out = site
    a = {r["item"]: r["score"] for r in read_samples(root / "results" / "Beta-7B-Instruct" / "samples" / "kmmlu.jsonl")}
    b = {r["item"]: r["score"] for r in read_samples(root / "results" / "Alpha-7B-Instruct" / "samples" / "kmmlu.jsonl")}
    differ = [item for item in a if item in b and a[item] != b[item]]
    page = out / "site" / "compare" / "kmmlu" / "Beta_7B--Alpha-7B-Instruct.html"
    count, dom = _shown(page, size="500")
    assert count == len(set(a) & set(b))
    listed = re.findall(r'<tr class="item( differs)?" data-item="([^"]+)"', dom)
    assert [item for mark, item in listed[:len(differ)]] and all(mark for mark, _ in listed[:len(differ)])
    assert not any(mark for mark, _ in listed[len(differ):])
    assert "paired bootstrap (1000)" in dom and "0.068" in dom
    assert _shown(page, only="1")[0] == len(differ)


def _hostile_rows() -> list[dict]:
    context = "Question: what is 2+2?\nAnswer:"
    return [
        {"item": "h1", "score": 0.0, "group": HOSTILE, "doc_id": 0, "doc": {"question": HOSTILE},
         "arguments": [[context + HOSTILE, {"until": ["\n"]}]], "resps": [[HOSTILE]], "filtered_resps": [HOSTILE],
         "target": HOSTILE, "metrics": {"exact_match,flexible-extract": 0.0}, "response": HOSTILE, "pred": HOSTILE,
         "extracted": HOSTILE, "extraction_rule": "flexible-extract", "label": "4"},
        {"item": "h2", "score": 0.0, "group": "plain", "doc_id": 1, "doc": {"question": "q"},
         "arguments": [[context, {"until": ["\n"]}]], "resps": [["no number"]], "filtered_resps": ["[invalid]"],
         "target": "4", "response": "no number", "pred": "[invalid]", "extracted": "[invalid]",
         "extraction_rule": "none", "label": "4"},
        {"item": "h3", "score": 1.0, "group": "plain", "doc_id": 2, "doc": {"question": "q"},
         "arguments": [[context, {"until": ["\n"]}]], "resps": [["4"]], "filtered_resps": ["4"], "target": "4",
         "response": "4", "pred": "4", "extracted": "4", "extraction_rule": "flexible-extract", "label": "4"},
    ]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    chromium_binary()
    root = tmp_path_factory.mktemp("hostile")
    protocol = {"num_fewshot": 5, "output": "generate", "chat_template": True, "fewshot_as_multiturn": False,
                "metric": "exact_match,flexible-extract", "aggregation": "micro", "judge": None, "limit": None}
    write_run(root / "results", "evil" + HOSTILE, "gsm8k", _hostile_rows(), score=33.3, protocol=protocol)
    write_run(root / "results", "plain-model", "gsm8k", _hostile_rows()[1:] + [{"item": "h1", "score": 1.0}],
              score=50.0, protocol=protocol)
    judged = {"num_fewshot": 0, "output": "two_turn_chat", "chat_template": True, "fewshot_as_multiturn": False,
              "metric": "judge_score", "aggregation": "judge_mean", "judge": {"model": "gpt-4-0613"}, "limit": None}
    call = {"turn": 1, "repeat": 0, "prompt_name": "single-v1", "reasks": 1, "verdict": -1, "status": "parse_failure",
            "request": [{"role": "system", "content": HOSTILE}, {"role": "user", "content": "Rate: " + HOSTILE}],
            "replies": [HOSTILE, "Rating: [[x]] " + HOSTILE], "failure": None, "detail": ""}
    write_run(root / "results", "evil" + HOSTILE, "mt_bench",
              [{"item": "81/turn1", "score": None, "group": "writing", "turn": 1, "question_id": 81,
                "status": "parse_failure", "turns": [HOSTILE, "second " + HOSTILE], "answers": [HOSTILE, HOSTILE],
                "judge": [call]}], score=5.0, protocol=judged)
    out = root / "leaderboards"
    render_leaderboard(root / "results", out, ("md", "html"))
    return root, out


def test_judge_conversation_is_shown_as_text(hostile_site):
    _, out = hostile_site
    page = next((out / "site" / "items" / "mt_bench").glob("*.html"))
    dom, _ = dump_dom(_url(page, open="81/turn1"))
    assert MARK not in body_attrs(dom)
    assert "Judge call · turn 1 · repeat 0 · verdict -1 · parse_failure · 1 re-ask(s)" in dom
    assert "Rating: [[x]] &lt;img src=x onerror=" in dom and "Turn 2: question" in dom
    assert not [e for e in dom_elements(dom[dom.index("<body"):]) if e[0] in ("img", "svg", "script")]


def test_hostile_texts_are_shown_as_text_and_run_nothing(hostile_site):
    _, out = hostile_site
    items = sorted((out / "site" / "items" / "gsm8k").glob("*.html"))
    compare = next((out / "site" / "compare" / "gsm8k").glob("*.html"))
    pages = [_url(out / "index.html"), _url(out / "site" / "benchmark" / "gsm8k.html"),
             *(_url(p, open="h1") for p in items), _url(compare, size="500")]
    for url in pages:
        dom, _ = dump_dom(url)
        attrs = body_attrs(dom)
        assert MARK not in attrs and attrs.get("data-ready", "error") != "error", url
        body = dom[dom.index("<body"):]
        elements = dom_elements(body)
        assert not [e for e in elements if e[0] in ("svg", "iframe", "object") or any(
            name.startswith("on") or (value or "").lower().startswith(("javascript:", "x")) and name in ("href", "src")
            for name, value in e[1])], url
        assert sum(1 for tag, _ in elements if tag == "script") == 0, url  # none in the body: data chunks sit in head
        if "plain-model" not in url:
            assert "&lt;img src=x onerror=" in body  # the model's name or reply is there, as text
    evil_page = next(p for p in items if not p.name.startswith("plain-model"))
    dom, _ = dump_dom(_url(evil_page, open="h1"))
    assert dom.count("&lt;/script&gt;&lt;script&gt;") >= 3  # group, question, reply, request...: all text
    for chunk in (out / "site" / "data").rglob("*.js"):
        text = chunk.read_text(encoding="utf-8")
        assert "<" not in text and ">" not in text and "\u2028" not in text, chunk
    for page in (out / "site").rglob("*.html"):
        assert "onerror" not in page.read_text(encoding="utf-8") and "javascript:" not in page.read_text(encoding="utf-8")


def test_extraction_and_parse_failure_filters(hostile_site):
    _, out = hostile_site
    page = next(p for p in (out / "site" / "items" / "gsm8k").glob("plain*.html"))
    assert _shown(page)[0] == 3
    count, dom = _shown(page, flag="none")
    assert count == 1 and 'data-item="h2"' in dom
    assert _shown(page, flag="parse")[0] == 1
    assert _shown(page, status="failed")[0] == 0 and _shown(page, status="wrong")[0] == 1


def _kmmlu_like_rows(n: int) -> list[dict]:
    """n KMMLU-shaped items: Korean questions, a 5-shot context (the subject's five examples in a random
    order, as lm-eval's sampler draws them), four choices with their log-likelihoods."""
    rng = random.Random(7)
    syllables = [chr(0xAC00 + i) for i in range(0, 11172, 37)]
    def sentence(k: int) -> str:
        return " ".join("".join(rng.choice(syllables) for _ in range(rng.randint(2, 5))) for _ in range(k))
    subjects = {f"Subject-{s}": [f"{sentence(12)}?\nA. {sentence(2)}\nB. {sentence(2)}\nC. {sentence(2)}\nD. {sentence(2)}\n정답：A\n\n"
                                  for _ in range(5)] for s in range(45)}
    rows = []
    for i in range(n):
        subject = f"Subject-{i % 45}"
        shots = subjects[subject][:]
        rng.shuffle(shots)
        question = f"{sentence(14)}?\nA. {sentence(2)}\nB. {sentence(2)}\nC. {sentence(2)}\nD. {sentence(2)}\n정답："
        lls = [round(-rng.random() * 5, 4) for _ in range(4)]
        pred, label = max(range(4), key=lls.__getitem__), rng.randrange(4)
        context = "".join(shots) + question
        rows.append({"item": f"{subject}/{i}", "score": float(pred == label), "group": subject, "pred": pred,
                     "label": label, "doc_id": i, "doc": {"question": question}, "target": label,
                     "arguments": [[context, f" {c}"] for c in "ABCD"], "loglikelihoods": lls,
                     "choice_texts": [f" {c}" for c in "ABCD"], "metrics": {"acc": float(pred == label)}})
    return rows


def test_a_35030_item_page_is_interactive_within_2_seconds(tmp_path):
    chromium_binary()
    rows = _kmmlu_like_rows(35_030)
    write_run(tmp_path / "results", "big-model", "kmmlu", rows, score=25.0)
    out = tmp_path / "leaderboards"
    render_leaderboard(tmp_path / "results", out, ("html",))
    page = out / "site" / "items" / "kmmlu" / "big-model.html"
    dump_dom(_url(page), budget_ms=None)  # warm the disk cache
    count, dom = _shown(page)
    assert count == 35_030 and "35030 of 35030 items" in dom
    dom, _ = dump_dom(_url(page), budget_ms=None)  # real time (no virtual clock)
    ready_ms = int(body_attrs(dom)["data-ready"])
    assert ready_ms < 2000, f"interactive after {ready_ms} ms"
    from tests.support.cdp import Browser

    searched = rows[34_999]["item"]
    with Browser(chromium_binary()) as browser:  # interactive: typing a search re-lists 35,030 items at once
        browser.open(_url(page))
        started = time.perf_counter()
        browser.type("#search", searched)
        browser.wait_for("document.body.dataset.shown === '1'")
        assert time.perf_counter() - started < 1.0
    count, dom = _shown(page, q=searched, open=searched)
    assert count == 1 and "log-likelihood" in dom and "정답" in dom
    assert f"{rows[34_999]['loglikelihoods'][0]:.4f}" in dom


def test_pages_work_from_a_static_web_server(site):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    _, out = site

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        dom, _ = dump_dom(f"{base}/site/items/kmmlu/Alpha-7B-Instruct.html#status=wrong")
        attrs = body_attrs(dom)
        assert attrs.get("data-ready", "error") != "error" and 0 < int(attrs["data-shown"]) < 72
        dom, _ = dump_dom(f"{base}/index.html")
        assert len(dom_tables(dom)) >= 8
    finally:
        server.shutdown()
        server.server_close()


def test_typing_choosing_and_clicking_change_the_listed_items(site):
    from tests.support.cdp import Browser

    root, out = site
    rows = read_samples(root / "results" / "Alpha-7B-Instruct" / "samples" / "kmmlu.jsonl")
    shown = "Number(document.body.dataset.shown)"
    with Browser(chromium_binary()) as browser:
        browser.open(_url(out / "site" / "items" / "kmmlu" / "Alpha-7B-Instruct.html"))
        assert browser.evaluate(shown) == 72
        browser.type("#search", "accounting/1")
        expected = sum(1 for r in rows if "accounting/1" in r["item"].lower())
        assert browser.wait_for(f"{shown} === {expected}") and "#q=accounting%2F1" in browser.evaluate("location.hash")
        browser.evaluate("(() => { const s = document.getElementById('search'); s.value = '';"
                         " s.dispatchEvent(new Event('input')); })()")
        browser.choose("#status", "wrong")
        assert browser.wait_for(f"{shown} === {sum(1 for r in rows if r['score'] == 0)}")
        browser.choose("#status", "")
        browser.choose("#size", "25")
        first = browser.evaluate("document.querySelector('tr.item').dataset.item")
        browser.click("#next")
        assert browser.wait_for(f"document.querySelector('tr.item').dataset.item !== {first!r}")
        assert browser.evaluate("document.querySelector('tr.item td').textContent") == "26"
        browser.click("tr.item button.open")
        assert browser.wait_for("document.querySelector('tr.detail-row .detail') !== null")
        # the index: clicking a header sorts the table by that column
        browser.open(_url(out / "index.html"))
        column = "Array.from(document.querySelectorAll('table.data')[0].querySelectorAll('tbody tr td:nth-child(3)')).map(td => td.textContent)"
        before = browser.evaluate(column)
        browser.click("table.data th:nth-child(3)")
        after = browser.evaluate(column)
        assert sorted(before) == sorted(after) and after != before and after[0] == "58.3 [47.2, 68.1]"
