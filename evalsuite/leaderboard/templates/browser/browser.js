// evalsuite results browser: fills the static page shell from data chunks (site/data/*.js, each a call
// ES.receive(key, data)). Every text from results, samples, prompts and replies is untrusted: it reaches
// the page through textContent / text nodes only, never as markup; links are built from plain names.
"use strict";
(function () {
  const body = document.body;
  const ROOT = body.dataset.root || "";
  const PAGE = body.dataset.page || "index";
  const received = Object.create(null);
  const waiting = Object.create(null);

  window.ES = {
    receive(key, data) {
      received[key] = data;
      (waiting[key] || []).forEach((resolve) => resolve(data));
      delete waiting[key];
    },
  };

  function load(path, key) {
    if (key in received) return Promise.resolve(received[key]);
    return new Promise((resolve, reject) => {
      const queue = (waiting[key] = waiting[key] || []);
      queue.push(resolve);
      if (queue.length > 1) return;
      const script = document.createElement("script");
      script.src = ROOT + "site/data/" + path;
      script.addEventListener("error", () => reject(new Error("cannot load site/data/" + path)));
      document.head.appendChild(script);
    });
  }

  const SAFE_PATH = /^[A-Za-z0-9_.\/-]+(#[A-Za-z0-9_.=&%-]*)?$/;
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if ((name === "href" || name === "src") && !SAFE_PATH.test(value)) continue;  // no scheme, no markup
      if (name === "class") node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const text = (value) => (value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value));
  function cell(tag, value) {
    if (value && typeof value === "object" && "t" in value) {
      const inner = value.b ? el("strong", {}, value.t) : value.c ? el("code", {}, value.t) : value.t;
      return el(tag, {}, inner);
    }
    return el(tag, {}, text(value));
  }
  function plain(value) {
    return value && typeof value === "object" && "t" in value ? value.t : text(value);
  }
  const pre = (value, cls) => el("pre", { class: cls || "text" }, text(value));

  // ---------------------------------------------------------------- tables, sortable by any column
  function numberOf(value) {
    const match = /^[-+]?\d+(\.\d+)?/.exec(plain(value).trim());
    return match ? parseFloat(match[0]) : null;
  }
  function table(header, rows, options) {
    const opts = options || {};
    const head = el("tr", {}, ...header.map((h) => cell("th", h)));
    const tbody = el("tbody");
    const bodyRows = rows.map((row, i) => {
      const tr = el("tr", {}, ...row.map((c, j) => (opts.link && opts.link(i, j) ? el("td", {}, el("a", { href: opts.link(i, j) }, cell("span", c))) : cell("td", c))));
      return { tr, row };
    });
    bodyRows.forEach((r) => tbody.append(r.tr));
    const result = el("table", { class: "data" }, el("thead", {}, head), tbody);
    if (opts.sortable !== false) {
      let sorted = -1, descending = false;
      Array.from(head.children).forEach((th, j) => {
        th.classList.add("sortable");
        th.setAttribute("title", "sort by this column");
        th.addEventListener("click", () => {
          descending = sorted === j ? !descending : numberOf(bodyRows[0] && bodyRows[0].row[j]) !== null;
          sorted = j;
          const keyed = bodyRows.slice().sort((a, b) => {
            const x = numberOf(a.row[j]), y = numberOf(b.row[j]);
            if (x === null && y === null) return plain(a.row[j]).localeCompare(plain(b.row[j])) * (descending ? -1 : 1);
            if (x === null) return 1;
            if (y === null) return -1;
            return (descending ? y - x : x - y);
          });
          keyed.forEach((r) => tbody.append(r.tr));
          Array.from(head.children).forEach((other) => other.removeAttribute("aria-sort"));
          th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        });
      });
    }
    return result;
  }

  function pageHeader(title, links) {
    const nav = el("nav", {}, el("a", { href: ROOT + "index.html" }, "Leaderboard"), ...(links || []).flatMap((l) => [" · ", l]));
    const h1 = el("h1", {}, title);
    document.title = title + " · evalsuite";
    body.append(nav, h1);
  }
  const itemsHref = (benchmark, run) => ROOT + "site/items/" + benchmark + "/" + run + ".html";
  const compareHref = (benchmark, a, b) => ROOT + "site/compare/" + benchmark + "/" + a + "--" + b + ".html";
  const benchmarkHref = (benchmark) => ROOT + "site/benchmark/" + benchmark + ".html";

  // ---------------------------------------------------------------- index: the report's tables
  function renderIndex(index) {
    pageHeader("Leaderboard: the report's tables");
    body.append(el("p", {}, "From " + index.n_results + " result files and the report's numbers (" + text(index.report && index.report.title) + "). Measured rows in bold, with 95% intervals. Click a column header to sort."));
    for (const t of index.tables) {
      const section = el("section", { class: "report-table" });
      section.append(el("h2", {}, t.title + " · report Table " + t.report_table + " (" + t.provenance + ")"));
      if (t.chart) section.append(el("img", { src: ROOT + t.chart, alt: t.title, class: "chart" }));
      section.append(table(t.header, t.rows));
      const details = t.benchmarks.map((b) => el("a", { href: benchmarkHref(b) }, (index.benchmarks[b] && plain(index.benchmarks[b].title)) || b));
      section.append(el("p", {}, "Average: " + t.average_rule + ".", ...(details.length ? [" Details: ", ...details.flatMap((a, i) => (i ? [", ", a] : [a]))] : [])));
      const notes = t.notes.map(([letter, note]) => el("li", {}, "(" + letter + ") " + plain(note))).concat(t.inferred.map((line) => el("li", {}, "Inferred: " + plain(line))));
      if (notes.length) section.append(el("ul", { class: "notes" }, ...notes));
      body.append(section);
    }
    if (index.comparisons.length) {
      body.append(el("h2", {}, "Paired comparisons"));
      body.append(table(["Benchmark", "A", "B", "Items", "A − B [95% CI]", "Test", "p", "Significant"], index.comparisons,
        { link: (i, j) => (j === 0 && index.comparison_links[i] ? ROOT + index.comparison_links[i] : null) }));
    }
    body.append(el("h2", {}, "Measured runs"));
    body.append(table(["Model", "Benchmark", "Score [95% CI]", "Interval", "n", "Failures (parse/api/timeout)", "Protocol", "Result file"], index.runs,
      { link: (i, j) => (j === 1 ? ROOT + index.run_links[i] : null) }));
    if (index.skipped.length) {
      body.append(el("h2", {}, "Skipped files"), el("ul", {}, ...index.skipped.map((s) => el("li", {}, plain(s)))));
    }
  }

  // ---------------------------------------------------------------- one benchmark
  function renderBenchmark(index, name) {
    const page = index.benchmarks[name];
    pageHeader(plain(page.title));
    if (page.paper_lines.length) body.append(el("p", {}, "Report: " + page.paper_lines.join("; ") + "."));
    body.append(el("p", {}, "Report's protocol:"), el("ul", {}, ...page.protocol_lines.map((l) => el("li", {}, plain(l)))));
    const runOf = Object.fromEntries(page.runs.map((r) => [r.model, r.run]));
    body.append(table(page.summary.header, page.summary.rows, { link: (i, j) => (j === 0 && runOf[plain(page.summary.rows[i][0])] ? itemsHref(name, runOf[plain(page.summary.rows[i][0])]) : null) }));
    body.append(el("p", {}, "Items of each run: ", ...page.runs.flatMap((r, i) => [i ? ", " : "", el("a", { href: itemsHref(name, r.run) }, r.model)])));
    if (page.inferred_notes.length) body.append(el("ul", { class: "notes" }, ...page.inferred_notes.map((l) => el("li", {}, plain(l)))));
    for (const chart of page.charts) body.append(el("img", { src: ROOT + chart.href, alt: plain(chart.alt), class: "chart" }));
    for (const b of page.breakdowns) body.append(el("h2", {}, b.title), table(b.header, b.rows));
    if (page.comparisons.rows.length) {
      body.append(el("h2", {}, "Paired comparisons"));
      body.append(table(page.comparisons.header.concat(["Items"]), page.comparisons.rows.map((r) => r.cells.concat([r.a && r.b ? "compare" : "—"])),
        { link: (i, j) => { const r = page.comparisons.rows[i]; return j === r.cells.length && r.a && r.b ? compareHref(name, r.a, r.b) : null; } }));
    }
  }

  // ---------------------------------------------------------------- hash state (links to a view)
  function readHash() {
    const state = {};
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      if (!part) continue;
      const [k, v] = part.split("=");
      try { state[decodeURIComponent(k)] = decodeURIComponent(v || ""); } catch (e) { /* a malformed hash is ignored */ }
    }
    return state;
  }
  function writeHash(state) {
    const hash = Object.entries(state).filter(([, v]) => v !== "" && v !== undefined && v !== null && v !== false)
      .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
    try { history.replaceState(null, "", hash ? "#" + hash : location.pathname); } catch (e) { /* file:// may refuse */ }
  }

  // ---------------------------------------------------------------- item details
  function unpack(detail) {
    for (const row of detail.rows) {
      const requests = Array.isArray(row.arguments) ? row.arguments : [];
      for (const request of requests) {
        if (!Array.isArray(request)) continue;
        if (Array.isArray(request[0])) request[0] = request[0].map((p) => (typeof p === "number" ? text(detail.segments[p]) : p)).join("");
        else if (request[0] && typeof request[0] === "object" && "as" in request[0]) request[0] = text((requests[request[0].as] || [])[0]);
      }
    }
    return detail;
  }
  function loadDetail(benchmark, run, position, chunkSize) {
    const chunk = Math.floor(position / chunkSize);
    const key = "detail/" + benchmark + "/" + run + "/" + chunk;
    const fresh = !(key in received);
    return load(benchmark + "/" + run + "/d" + chunk + ".js", key).then((d) => (fresh && !d.unpacked ? (unpack(d), (d.unpacked = true), d) : d))
      .then((d) => d.rows[position % chunkSize]);
  }
  function section(title, ...children) {
    return el("section", { class: "field" }, el("h4", {}, title), ...children);
  }
  function renderRequests(row) {
    const args = row.arguments || [];
    if (!args.length) return [];
    const contexts = args.map((a) => (Array.isArray(a) ? a[0] : a));
    const same = contexts.every((c) => c === contexts[0]);
    const parts = [];
    if (Array.isArray(row.loglikelihoods) && row.loglikelihoods.length) {
      parts.push(section("Request (the context every choice continues)", pre(contexts[0])));
      const best = row.pred, gold = row.label;
      parts.push(section("Choices", table(["#", "continuation", "log-likelihood", "chosen", "gold"], args.map((a, i) => [
        String(i), text(Array.isArray(a) ? a[1] : ""), row.loglikelihoods[i] === null ? "—" : Number(row.loglikelihoods[i]).toFixed(4),
        i === best ? "✓" : "", i === gold ? "✓" : ""]), { sortable: false })));
      if (!same) args.forEach((a, i) => parts.push(section("Request " + i, pre(contexts[i]))));
    } else {
      args.forEach((a, i) => parts.push(section("Request" + (args.length > 1 ? " " + i : ""), pre(contexts[i]), Array.isArray(a) && a.length > 1 ? pre(a.slice(1), "meta") : null)));
    }
    return parts;
  }
  function renderJudge(row) {
    const parts = [];
    (row.turns || []).forEach((turn, i) => {
      parts.push(section("Turn " + (i + 1) + ": question", pre(turn)));
      if (row.answers && i < row.answers.length) parts.push(section("Turn " + (i + 1) + ": model's answer", pre(row.answers[i])));
    });
    (row.judge || []).forEach((call) => {
      const title = "Judge call · turn " + call.turn + " · repeat " + call.repeat + " · verdict " + text(call.verdict) + " · " + text(call.status) + (call.reasks ? " · " + call.reasks + " re-ask(s)" : "");
      const box = el("details", { class: "judge" }, el("summary", {}, title));
      (call.request || []).forEach((m) => box.append(el("h5", {}, "request · " + text(m.role)), pre(m.content)));
      (call.replies || []).forEach((r, i) => {
        const added = i > 0 && Array.isArray(call.follow_ups) ? call.follow_ups[i - 1] : null;
        if (Array.isArray(added) && !added.length) box.append(el("h5", {}, "re-ask " + i + ": the same request again"));
        (Array.isArray(added) ? added : []).forEach((m) => {
          if (m && m.role !== "assistant") box.append(el("h5", {}, "re-ask " + i + " · " + text(m.role)), pre(m.content));
        });
        box.append(el("h5", {}, "reply " + (i + 1)), pre(r));
      });
      if (call.failure || call.detail) box.append(el("p", { class: "failure" }, "failure: " + text(call.failure) + " " + text(call.detail)));
      parts.push(box);
    });
    return parts;
  }
  const SHOWN = ["arguments", "loglikelihoods", "turns", "answers", "judge", "response", "program", "doc"];
  function renderDetail(row) {
    const box = el("div", { class: "detail" });
    box.append(...renderRequests(row));
    if ("response" in row) box.append(section("Reply", pre(row.response)));
    if ("extracted" in row) box.append(section("Extracted answer", el("p", {}, text(row.extracted) + " (rule: " + text(row.extraction_rule) + ")")));
    if ("program" in row) box.append(section("Program", pre(row.program, "code")), section("Sandbox verdict", el("p", {}, text(row.verdict) + (row.reason ? ": " + text(row.reason) : ""))));
    box.append(...renderJudge(row));
    if ("target" in row || "label" in row) box.append(section("Target", pre("target" in row ? row.target : row.label)));
    if (row.truncated) box.append(el("p", { class: "failure" }, "Cut by the size caps: " + JSON.stringify(row.truncated)));
    const rest = {};
    for (const [k, v] of Object.entries(row)) if (!SHOWN.includes(k)) rest[k] = v;
    box.append(el("details", {}, el("summary", {}, "All fields"), pre(JSON.stringify(rest, null, 1), "meta"), "doc" in row ? pre(JSON.stringify(row.doc, null, 1), "meta") : null));
    return box;
  }

  // ---------------------------------------------------------------- listings (items and comparisons)
  function pager(state, total, rerender) {
    const size = Number(state.size) || 50;
    const pages = Math.max(1, Math.ceil(total / size));
    const page = Math.min(Math.max(1, Number(state.page) || 1), pages);
    const prev = el("button", { type: "button", id: "prev" }, "‹ previous");
    const next = el("button", { type: "button", id: "next" }, "next ›");
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    prev.addEventListener("click", () => { state.page = page - 1; rerender(); });
    next.addEventListener("click", () => { state.page = page + 1; rerender(); });
    return { start: (page - 1) * size, end: Math.min(total, page * size), node: el("span", { class: "pager" }, prev, " page " + page + " of " + pages + " ", next) };
  }
  function control(label, node) {
    return el("label", {}, label + " ", node);
  }
  function select(id, options, value) {
    const node = el("select", { id }, ...options.map(([v, t]) => el("option", { value: v }, t)));
    node.value = value || "";
    return node;
  }

  function renderItems(index, benchmark, run) {
    return load(benchmark + "/" + run + "/items.js", "items/" + benchmark + "/" + run).then((data) => {
      pageHeader(data.title + " · " + data.model, [el("a", { href: benchmarkHref(benchmark) }, data.title)]);
      const rows = data.rows;
      const state = Object.assign({ q: "", group: "", status: "", flag: "", page: "1", size: "50", open: "" }, readHash());
      let hay = null;
      const search = el("input", { id: "search", type: "search", placeholder: "search items, questions, answers", value: state.q });
      const group = select("group", [["", "all groups"]].concat(data.groups.map((g) => [g, g])), state.group);
      const status = select("status", [["", "any result"], ["correct", "correct"], ["wrong", "wrong"], ["failed", "failed (unscored)"], ["scored", "scored"]], state.status);
      const flag = select("flag", [["", "any extraction"], ["none", "extraction none"], ["parse", "parse failure"]], state.flag);
      const size = select("size", [["25", "25"], ["50", "50"], ["100", "100"], ["500", "500"]], state.size);
      const count = el("p", { id: "count" });
      const list = el("tbody", { id: "items" });
      const pagerBox = el("div", { class: "pagerbox" });
      body.append(el("div", { class: "controls" }, search, control("group", group), control("result", status), control("extraction", flag), control("per page", size)), count, pagerBox,
        el("table", { class: "data items" }, el("thead", {}, el("tr", {}, ...["#", "item", "group", "result", "score", "answer", "gold", "question (end)", "reply"].map((h) => el("th", {}, h)))), list));
      function matches(i) {
        const r = rows[i];
        if (state.group && data.groups[r[1]] !== state.group) return false;
        if (state.status && r[3] !== state.status) return false;
        if (state.flag === "none" && !(r[4] & 1)) return false;
        if (state.flag === "parse" && !(r[4] & 2)) return false;
        if (state.q) {
          if (!hay) hay = rows.map((x) => (x[0] + "\u0000" + x[5] + "\u0000" + x[7] + "\u0000" + x[8]).toLowerCase());
          if (!hay[i].includes(state.q.toLowerCase())) return false;
        }
        return true;
      }
      function render() {
        const shown = [];
        for (let i = 0; i < rows.length; i++) if (matches(i)) shown.push(i);
        count.textContent = shown.length + " of " + rows.length + " items";
        const p = pager(state, shown.length, render);
        pagerBox.replaceChildren(p.node);
        list.replaceChildren(...shown.slice(p.start, p.end).map((i) => itemRow(i)));
        body.dataset.shown = String(shown.length);
        writeHash({ q: state.q, group: state.group, status: state.status, flag: state.flag, page: state.page === "1" || state.page === 1 ? "" : state.page, size: state.size === "50" ? "" : state.size, open: state.open });
      }
      function itemRow(i) {
        const r = rows[i];
        const tr = el("tr", { class: "item " + r[3], "data-item": r[0] },
          el("td", {}, String(i + 1)), el("td", {}, el("button", { type: "button", class: "open" }, r[0])), el("td", {}, data.groups[r[1]] || ""),
          el("td", {}, r[3] + (r[4] & 2 ? " · parse failure" : r[4] & 1 ? " · extraction none" : "")), el("td", {}, r[2] === null ? "—" : String(Math.round(r[2] * 1000) / 1000)),
          el("td", { class: "clip" }, r[5]), el("td", { class: "clip" }, r[6]), el("td", { class: "clip" }, r[7]), el("td", { class: "clip" }, r[8]));
        const toggle = () => {
          const next = tr.nextSibling;
          if (next && next.classList && next.classList.contains("detail-row")) { next.remove(); state.open = ""; writeHash(state); return; }
          const holder = el("td", { colspan: "9" }, "loading…");
          tr.after(el("tr", { class: "detail-row" }, holder));
          loadDetail(benchmark, run, i, data.chunk).then((row) => holder.replaceChildren(renderDetail(row)), (err) => holder.replaceChildren(String(err)));
          state.open = r[0];
          writeHash(state);
        };
        tr.querySelector("button.open").addEventListener("click", toggle);
        if (state.open && state.open === r[0]) setTimeout(toggle, 0);
        return tr;
      }
      const update = (key, node) => node.addEventListener(node.tagName === "INPUT" ? "input" : "change", () => { state[key] = node.value; state.page = 1; state.open = ""; render(); });
      update("q", search); update("group", group); update("status", status); update("flag", flag); update("size", size);
      render();
    });
  }

  function renderCompare(index, benchmark, a, b) {
    const page = index.benchmarks[benchmark];
    return Promise.all([load(benchmark + "/" + a + "/items.js", "items/" + benchmark + "/" + a), load(benchmark + "/" + b + "/items.js", "items/" + benchmark + "/" + b)]).then(([A, B]) => {
      pageHeader(A.title + ": " + A.model + " vs " + B.model, [el("a", { href: benchmarkHref(benchmark) }, A.title)]);
      const test = page.comparisons.rows.find((r) => r.a === a && r.b === b);
      if (test) body.append(el("h2", {}, "Paired test (as in the leaderboard)"), table(page.comparisons.header, [test.cells], { sortable: false }));
      const other = new Map(B.rows.map((r, i) => [r[0], i]));
      const pairs = [];
      A.rows.forEach((r, i) => { if (other.has(r[0])) pairs.push([i, other.get(r[0])]); });
      const differs = (p) => A.rows[p[0]][2] !== B.rows[p[1]][2];
      pairs.sort((x, y) => differs(y) - differs(x));
      const disagreements = pairs.filter(differs).length;
      body.append(el("p", { id: "summary" }, pairs.length + " items in common, " + disagreements + " where the two differ (listed first)."));
      const state = Object.assign({ q: "", only: "", page: "1", size: "50" }, readHash());
      const search = el("input", { id: "search", type: "search", placeholder: "search items", value: state.q });
      const only = el("input", { id: "only", type: "checkbox" });
      only.checked = state.only === "1";
      const count = el("p", { id: "count" });
      const list = el("tbody", { id: "items" });
      const pagerBox = el("div", { class: "pagerbox" });
      body.append(el("div", { class: "controls" }, search, el("label", {}, only, " disagreements only")), count, pagerBox,
        el("table", { class: "data items" }, el("thead", {}, el("tr", {}, ...["item", "group", A.model + ": result", A.model + ": answer", B.model + ": result", B.model + ": answer", "gold"].map((h) => el("th", {}, h)))), list));
      function render() {
        const q = state.q.toLowerCase();
        const shown = pairs.filter((p) => (!state.only || differs(p)) && (!q || (A.rows[p[0]][0] + "\u0000" + A.rows[p[0]][7]).toLowerCase().includes(q)));
        count.textContent = shown.length + " of " + pairs.length + " items";
        const pg = pager(state, shown.length, render);
        pagerBox.replaceChildren(pg.node);
        list.replaceChildren(...shown.slice(pg.start, pg.end).map(([i, j]) => {
          const x = A.rows[i], y = B.rows[j];
          const tr = el("tr", { class: "item" + (differs([i, j]) ? " differs" : ""), "data-item": x[0] },
            el("td", {}, el("button", { type: "button", class: "open" }, x[0])), el("td", {}, A.groups[x[1]] || ""), el("td", {}, x[3]), el("td", { class: "clip" }, x[5] || x[8]),
            el("td", {}, y[3]), el("td", { class: "clip" }, y[5] || y[8]), el("td", { class: "clip" }, x[6]));
          tr.querySelector("button.open").addEventListener("click", () => {
            const next = tr.nextSibling;
            if (next && next.classList && next.classList.contains("detail-row")) { next.remove(); return; }
            const left = el("td", { colspan: "3" }, "loading…"), right = el("td", { colspan: "4" }, "loading…");
            tr.after(el("tr", { class: "detail-row" }, left, right));
            loadDetail(benchmark, a, i, A.chunk).then((row) => left.replaceChildren(renderDetail(row)));
            loadDetail(benchmark, b, j, B.chunk).then((row) => right.replaceChildren(renderDetail(row)));
          });
          return tr;
        }));
        body.dataset.shown = String(shown.length);
        writeHash({ q: state.q, only: state.only, page: state.page === "1" || state.page === 1 ? "" : state.page });
      }
      search.addEventListener("input", () => { state.q = search.value; state.page = 1; render(); });
      only.addEventListener("change", () => { state.only = only.checked ? "1" : ""; state.page = 1; render(); });
      render();
    });
  }

  load("index.js", "index").then((index) => {
    const b = body.dataset.benchmark;
    if (PAGE === "index") return renderIndex(index);
    if (PAGE === "benchmark") return renderBenchmark(index, b);
    if (PAGE === "items") return renderItems(index, b, body.dataset.run);
    if (PAGE === "compare") return renderCompare(index, b, body.dataset.a, body.dataset.b);
    return null;
  }).then(() => {
    body.dataset.ready = String(Math.round(performance.now()));
  }, (err) => {
    body.append(el("p", { class: "failure" }, "The results browser could not load its data: " + String(err)));
    body.dataset.ready = "error";
  });
})();
