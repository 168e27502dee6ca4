// The Insights dashboard: reads the filter form into one query string, asks the page's chart endpoint for
// each view's Vega-Lite spec and the insights API for lists (terms, their responses, quotes).
// Vega runs with its expression interpreter (no eval), so the page keeps script-src 'self'.
// All user text (responses, terms, theme names) is put in the DOM as text nodes, never as HTML.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("insights-config").textContent);
  const form = document.getElementById("insights-filters");
  const errorBox = document.getElementById("insights-error");
  const metaKey = document.getElementById("f-meta-key");
  const metaValue = document.getElementById("f-meta-value");
  const http = window.ThemeLoop.http;
  const columns = {};
  config.columns.forEach(function (c) { columns[c.key] = c; });
  const defaults = config.defaults || {};
  // Trends: null draws the commonest themes under the filters (the server picks them); a list, the ones ticked.
  let trendThemes = null;
  const QUOTES_OPEN = 5;  // quote blocks open on load; the rest open on a click

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function filters() {
    const q = new URLSearchParams();
    q.set("source", document.getElementById("f-source").value);
    if (metaKey.value && metaValue.value) q.append("meta", metaKey.value + ":" + metaValue.value);
    const dateField = document.getElementById("f-date-field").value;
    if (dateField) {
      q.set("date_field", dateField);
      ["date_from", "date_to"].forEach(function (name) {
        const v = document.getElementById("f-" + name.replace("_", "-")).value;
        if (v) q.set(name, v);
      });
    }
    return q;
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error(body.message || ("Request failed (" + r.status + ")"));
        return body;
      });
    });
  }

  function showError(err) { errorBox.textContent = err ? String(err.message || err) : ""; }

  function extra(view) {
    const q = filters();
    if (view === "segments") q.set("segment", document.getElementById("segment-column").value);
    if (view === "terms") q.set("theme", document.getElementById("terms-theme").value);
    if (view === "drivers") q.set("score", document.getElementById("drivers-score").value);
    if (view === "trends" && trendThemes) q.set("themes", trendThemes.join(","));
    return q;
  }

  function drawChart(div) {
    const view = div.dataset.view;
    if (view === "segments" && !document.getElementById("segment-column").value) return Promise.resolve();
    if (view === "drivers" && !document.getElementById("drivers-score").value) return Promise.resolve();
    if (view === "terms" && !document.getElementById("terms-theme").value) return Promise.resolve();
    if (view === "trends") {
      // Over the date column chosen in the filters, else the project's first one (the server's default).
      const hasDate = !!(document.getElementById("f-date-field").value || defaults.date);
      if (!hasDate) { div.textContent = ""; fileLinks(view, false); return Promise.resolve(); }
    }
    div.dataset.state = "loading";
    // The room the chart has: on a phone the server narrows the plot rather than let it run off the screen.
    const q = extra(view);
    q.set("width", String(Math.round(div.clientWidth || 0) || ""));
    return getJSON(config.charts + view + "/?" + q.toString()).then(function (body) {
      if (view === "prevalence") showSource(body.source);
      if (view === "trends") tickTrendThemes(body.themes || []);
      // ast + expr: Vega interprets expressions instead of compiling them with new Function (CSP-safe).
      return window.vegaEmbed(div, body.spec, {actions: false, ast: true, expr: window.vega.expressionInterpreter,
                                               renderer: "svg"});
    }).then(function () { div.dataset.state = "drawn"; fileLinks(view, true); }, function (err) {
      fileLinks(view, false);
      div.dataset.state = "error";
      div.textContent = "";
      div.appendChild(el("p", err.message, "error small"));
    });
  }

  // PNG and SVG of a drawn chart, drawn on the server under the same filters and view parameters.
  function fileLinks(view, shown) {
    const box = document.querySelector('.chart-files[data-files="' + view + '"]');
    if (!box) return;
    box.hidden = !shown;
    box.querySelectorAll("a[data-fmt]").forEach(function (a) {
      a.href = config.chart_files + view + "." + a.dataset.fmt + "?" + extra(view).toString();
    });
  }

  // The export links carry the page's filters, and the segment and score columns chosen in their views; so does
  // the PDF report's form (a worker prints it), as hidden fields.
  function exportParams() {
    const q = filters();
    const segment = document.getElementById("segment-column").value;
    const score = document.getElementById("drivers-score").value;
    if (segment) q.set("segment", segment);
    if (score) q.set("score", score);
    return q;
  }

  function exportLinks() {
    document.querySelectorAll("#export-links a[data-format]").forEach(function (a) {
      const q = exportParams();
      q.set("format", a.dataset.format);
      a.href = config.export + "?" + q.toString();
    });
    const reportParams = document.querySelector("#report-form [data-report-params]");
    if (!reportParams) return;
    reportParams.textContent = "";
    exportParams().forEach(function (value, name) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      reportParams.appendChild(input);
    });
  }

  function showSource(info) {
    const badge = document.getElementById("source-info");
    if (!info) return;
    const note = document.querySelector('[data-note="micro-f1"]');  // says what micro F1 means, when shown
    note.hidden = !(info.source === "model" && info.model_version);
    if (info.source === "model") {
      const f1 = info.model_micro_f1 === null ? "n/a" : Number(info.model_micro_f1).toFixed(3);
      badge.textContent = info.model_version
        ? "human + model v" + info.model_version + " estimates (micro F1 " + f1 + "; " + info.estimates + " estimated)"
        : "human labels (no model yet)";
    } else {
      badge.textContent = "human labels only";
    }
  }

  function highlighted(text, spans) {
    // Text nodes between <mark> elements: the response is never parsed as HTML.
    const p = el("p", null, "term-context");
    let at = 0;
    spans.slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (s) {
      if (s[0] < at) return;
      p.appendChild(document.createTextNode(text.slice(at, s[0])));
      p.appendChild(el("mark", text.slice(s[0], s[1])));
      at = s[1];
    });
    p.appendChild(document.createTextNode(text.slice(at)));
    return p;
  }

  function showTermResponses(term) {
    const box = document.getElementById("term-responses");
    const q = filters();
    q.set("theme", document.getElementById("terms-theme").value);
    q.set("term", term);
    box.textContent = "";
    box.appendChild(el("p", "Loading…", "muted small"));
    getJSON(config.api + "terms/responses/?" + q.toString()).then(function (body) {
      box.textContent = "";
      box.appendChild(el("h3", "Responses with “" + body.term + "” (" + body.responses.length + ")"));
      body.responses.forEach(function (r) {
        const item = highlighted(r.text, r.spans || []);
        item.dataset.response = r.id;
        box.appendChild(item);
      });
    }).catch(showError);
  }

  function loadTerms() {
    const list = document.getElementById("term-list");
    const theme = document.getElementById("terms-theme").value;
    list.textContent = "";
    if (!theme) return Promise.resolve();
    const q = filters();
    q.set("theme", theme);
    return getJSON(config.api + "terms/?" + q.toString()).then(function (body) {
      body.terms.forEach(function (t) {
        const li = el("li");
        const btn = el("button", t.term, "linklike term");
        btn.type = "button";
        btn.dataset.term = t.term;
        btn.addEventListener("click", function () { showTermResponses(t.term); });
        li.appendChild(btn);
        li.appendChild(el("span", " z " + Number(t.z).toFixed(1) + " · " + t.count_in + " in / " + t.count_out + " out", "small muted"));
        list.appendChild(li);
      });
    }).catch(showError);
  }

  function pin(action, themeId, responseId) {
    return http.postJSON(config.api + "quotes/" + action + "/", {theme: themeId, response: responseId},
                         {Accept: "application/json"}).then(function (r) {
      if (!r.ok) throw new Error("Could not " + action + " the quote (" + r.status + ")");
      return loadQuotes();
    }).catch(showError);
  }

  function quoteItem(q, themeId, pinned) {
    const li = el("li", null, pinned ? "quote pinned" : "quote");
    li.appendChild(el("q", q.text));
    const btn = el("button", pinned ? "Unpin" : "Pin", "btn small");
    btn.type = "button";
    btn.addEventListener("click", function () { pin(pinned ? "unpin" : "pin", themeId, q.id); });
    li.appendChild(btn);
    return li;
  }

  function loadQuotes() {
    const box = document.getElementById("quotes");
    // A reload (after a pin, or new filters) keeps open the blocks the analyst opened.
    const opened = box.children.length ? new Set(Array.prototype.map.call(
      box.querySelectorAll("details.quote-theme[open]"), function (d) { return d.dataset.theme; })) : null;
    return getJSON(config.api + "quotes/?" + filters().toString()).then(function (body) {
      box.textContent = "";
      // Commonest themes first, the first few open: 45 themes' quotes open at once made a page of 7,000 px.
      const rank = {};
      config.themes.forEach(function (t, i) { rank[t.id] = i; });
      const themes = body.themes.slice().sort(function (a, b) {
        return (rank[a.theme_id] === undefined ? 1e9 : rank[a.theme_id]) - (rank[b.theme_id] === undefined ? 1e9 : rank[b.theme_id]);
      });
      themes.forEach(function (t, i) {
        const block = el("details", null, "quote-theme");
        block.dataset.theme = t.theme_id;
        block.open = opened ? opened.has(String(t.theme_id)) : (i < QUOTES_OPEN || t.pinned.length > 0);
        const summary = el("summary");
        summary.appendChild(el("h3", t.theme));
        block.appendChild(summary);
        const ul = el("ul", null, "quotes");
        t.pinned.forEach(function (q) { ul.appendChild(quoteItem(q, t.theme_id, true)); });
        const pinnedIds = new Set(t.pinned.map(function (q) { return q.id; }));
        t.representative.forEach(function (q) { if (!pinnedIds.has(q.id)) ul.appendChild(quoteItem(q, t.theme_id, false)); });
        block.appendChild(ul);
        box.appendChild(block);
      });
    }).catch(showError);
  }

  // Sentiment per net and theme: each row's levels as a stacked bar (most positive first), its mean and base;
  // then what pulls sentiment down or up.
  function loadSentiment() {
    const box = document.getElementById("sentiment-table");
    if (!box) return Promise.resolve();
    return getJSON(config.api + "sentiment/?" + filters().toString()).then(function (body) {
      const levels = Object.keys(body.levels).map(Number).sort(function (a, b) { return a - b; });
      box.textContent = "";
      function sentimentTable() {
        const table = el("table", null, "list sentiment-rows");
        const head = el("tr");
        ["", "Respondents", "Sentiment (" + levels.map(function (l) { return body.levels[l]; }).join(" → ") + ")",
         "Mean", "Negative", "Positive"].forEach(function (h) { head.appendChild(el("th", h)); });
        table.appendChild(el("thead")).appendChild(head);
        table.appendChild(el("tbody"));
        return table;
      }
      // In view: the nets and the commonest codes under none (a long codeframe would fill the page); every code,
      // under its net, one click away.
      const SHOWN = 8;
      const table = sentimentTable();
      const codesTable = sentimentTable();
      let tbody = table.tBodies[0];
      function add(label, row, kind) {
        if (!row.count) return;
        const tr = el("tr", null, kind === "net" ? "net-row" : "");
        tr.dataset.kind = kind;
        tr.appendChild(el("td", label));
        tr.appendChild(el("td", row.count, "num"));
        const bar = el("td"); const stack = el("div", null, "mood-stack");
        row.levels.forEach(function (c, i) {
          if (!c) return;
          const part = el("span", null, "mood-part mood-" + levels[i] + "-of-" + levels.length);
          part.style.width = (100 * c / row.count).toFixed(1) + "%";
          part.title = body.levels[levels[i]] + ": " + c;
          stack.appendChild(part);
        });
        bar.appendChild(stack); tr.appendChild(bar);
        tr.appendChild(el("td", row.mean === null ? "—" : Number(row.mean).toFixed(2), "num"));
        tr.appendChild(el("td", row.negative === null ? "—" : Math.round(row.negative * 100) + "%", "num"));
        tr.appendChild(el("td", row.positive === null ? "—" : Math.round(row.positive * 100) + "%", "num"));
        tbody.appendChild(tr);
      }
      const loose = body.themes.filter(function (t) { return !body.nets.some(function (n) { return n.net_id === t.net_id; }); });
      body.nets.forEach(function (n) { add("NET " + n.net, n, "net"); });
      loose.slice().sort(function (a, b) { return b.count - a.count; }).slice(0, SHOWN)
        .forEach(function (t) { add(t.theme, t, "code"); });
      box.appendChild(el("p", body.respondents + " respondents with a sentiment" +
                          (body.mean === null ? "" : "; mean " + Number(body.mean).toFixed(2) + " (1 = " + body.levels[levels[0]] + ")"),
                          "small muted"));
      box.appendChild(table);
      if (body.nets.length || loose.length > SHOWN) {
        tbody = codesTable.tBodies[0];
        body.nets.forEach(function (n) {
          add("NET " + n.net, n, "net");
          body.themes.filter(function (t) { return t.net_id === n.net_id; }).forEach(function (t) { add(t.theme, t, "code"); });
        });
        loose.forEach(function (t) { add(t.theme, t, "code"); });
        const more = el("details", null, "sentiment-codes");
        more.appendChild(el("summary", "Every code" + (body.nets.length ? " under its net" : "") + " (" + body.themes.length + ")"));
        more.appendChild(codesTable);
        box.appendChild(more);
      }
      const pulls = document.getElementById("sentiment-drivers");
      pulls.textContent = "";
      [["down", "Pull sentiment down (more negative where mentioned)"], ["up", "Pull sentiment up"]].forEach(function (pair) {
        const rows = body.drivers.filter(function (d) { return d.pulls === pair[0]; });
        if (pair[0] === "up") rows.reverse();
        const block = el("div"); block.dataset.pulls = pair[0];
        block.appendChild(el("h3", pair[1]));
        const list = el("ol", null, "small");
        rows.slice(0, 5).forEach(function (d) {
          list.appendChild(el("li", d.theme + ": " + (d.impact > 0 ? "+" : "") + Number(d.impact).toFixed(2) +
                              " [" + d.impact_ci.map(function (x) { return Number(x).toFixed(2); }).join(", ") + "], n " + d.count));
        });
        if (!rows.length) list.appendChild(el("li", "none clear at 95%", "muted"));
        block.appendChild(list);
        pulls.appendChild(block);
      });
    }).catch(showError);
  }

  // Waves: the changes that hold after Holm's correction, largest first (the chart shows every wave).
  function loadWaves() {
    const box = document.getElementById("wave-changes");
    if (!box) return Promise.resolve();
    return getJSON(config.api + "waves/?" + filters().toString()).then(function (body) {
      box.textContent = "";
      if (body.waves.length < 2) {
        box.appendChild(el("p", "Fewer than two waves have labels under these filters. With “Human labels only” a new " +
                            "wave nobody has coded yet is left out: choose “Human + model estimates” to compare it on " +
                            "the model's estimates.", "small muted"));
        return;
      }
      const clear = body.changes.filter(function (c) { return c.significant; })
        .sort(function (a, b) { return Math.abs(b.change) - Math.abs(a.change); });
      if (!clear.length) { box.appendChild(el("p", "No change from one wave to the next holds after Holm's correction.", "small muted")); return; }
      const table = el("table", null, "list");
      const head = el("tr");
      ["Net or code", "From", "To", "Change", "p (Holm)"].forEach(function (h) { head.appendChild(el("th", h)); });
      table.appendChild(el("thead")).appendChild(head);
      const tbody = el("tbody");
      clear.forEach(function (c) {
        const tr = el("tr", null, c.kind === "net" ? "net-row" : "");
        tr.dataset.kind = c.kind;
        tr.appendChild(el("td", (c.kind === "net" ? "NET " : "") + c.name));
        tr.appendChild(el("td", c.from)); tr.appendChild(el("td", c.to));
        tr.appendChild(el("td", (c.change > 0 ? "+" : "") + (c.change * 100).toFixed(1) + " pts", "num"));
        tr.appendChild(el("td", Number(c.p_adjusted).toPrecision(2), "num"));
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      box.appendChild(table);
    }).catch(showError);
  }

  function refresh() {
    showError(null);
    exportLinks();
    const charts = Array.prototype.map.call(document.querySelectorAll(".chart[data-view]"), drawChart);
    return Promise.all(charts.concat([loadTerms(), loadQuotes(), loadSentiment(), loadWaves()])).then(function () {
      document.body.dataset.insights = "ready";
    });
  }

  // The theme boxes show what the chart draws; at the most a chart can colour apart, the rest are disabled.
  const trendBoxes = document.querySelectorAll("#trends-themes input[type=checkbox]");
  function tickTrendThemes(themes) {
    const drawn = new Set(themes.map(function (t) { return String(t.theme_id); }));
    trendBoxes.forEach(function (box) { box.checked = drawn.has(box.value); });
    limitTrendBoxes();
  }
  function limitTrendBoxes() {
    const full = document.querySelectorAll("#trends-themes input:checked").length >= config.trend_themes_max;
    trendBoxes.forEach(function (box) { box.disabled = full && !box.checked; });
  }
  function redrawTrends() { drawChart(document.querySelector('[data-view="trends"]')); }
  trendBoxes.forEach(function (box) {
    box.addEventListener("change", function () {
      const ticked = Array.prototype.map.call(document.querySelectorAll("#trends-themes input:checked"),
                                              function (b) { return b.value; });
      limitTrendBoxes();
      trendThemes = ticked.length ? ticked : null;
      redrawTrends();
    });
  });
  const commonest = document.getElementById("trends-commonest");
  if (commonest) commonest.addEventListener("click", function () { trendThemes = null; redrawTrends(); });

  metaKey.addEventListener("change", function () {
    metaValue.textContent = "";
    metaValue.appendChild(el("option", "(any value)")).value = "";
    ((columns[metaKey.value] || {}).values || []).forEach(function (v) { metaValue.appendChild(el("option", v)).value = v; });
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); document.body.dataset.insights = "loading"; refresh(); });
  document.getElementById("segment-column").addEventListener("change", function () { exportLinks(); drawChart(document.querySelector('[data-view="segments"]')); });
  document.getElementById("drivers-score").addEventListener("change", function () { exportLinks(); drawChart(document.querySelector('[data-view="drivers"]')); });
  document.getElementById("terms-theme").addEventListener("change", function () {
    document.getElementById("term-responses").textContent = "";
    drawChart(document.querySelector('[data-view="terms"]'));
    loadTerms();
  });
  refresh();
})();
