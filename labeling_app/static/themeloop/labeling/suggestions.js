// Suggestions review: pick a theme and a probability band, then review its responses (bulk-review.js: paged,
// each can be unticked) before accepting or rejecting exactly the ticked ones.
// The band's lower end defaults to the theme's own threshold (left empty), so "accept all" takes exactly
// what the model suggests for that theme; probabilities are shown and typed as percentages.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("suggestions-config").textContent);
  const $ = function (id) { return document.getElementById(id); };
  if (!(config.themes || []).length) {  // nothing to ask for: the page says so (a request for theme 0 is a 400)
    window.ThemeLoopLive.start(config);
    return;
  }
  const http = window.ThemeLoop.http;

  const thresholds = Object.assign({}, config.thresholds || {});

  function pct(p) { return Math.round(p * 100) + "%"; }

  function fraction(input, fallback) {
    const raw = input.value.trim();
    if (raw === "") return fallback;
    return Math.min(100, Math.max(0, Number(raw))) / 100;
  }

  // min_probability null: the server starts the band at the theme's threshold in the current model.
  function band() {
    return {theme: Number($("sg-theme").value), min_probability: fraction($("sg-min"), null),
            max_probability: fraction($("sg-max"), 1)};
  }

  function showThreshold() {
    const t = thresholds[$("sg-theme").value];
    $("sg-threshold").textContent = t == null ? "no model yet" : "this theme's threshold: " + pct(t);
    $("sg-threshold").dataset.threshold = t == null ? "" : String(t);
  }

  function post(path, body) {
    return http.postJSON(config.api + path, body).then(http.json);
  }

  function show() {
    const b = band();
    showThreshold();
    const q = "suggestions/?page_size=200" + bandQuery(b);
    fetch(config.api + q, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (body) {
      const rows = $("suggestion-list").querySelector("tbody");
      rows.replaceChildren();
      (body.results || []).forEach(function (s) {
        if (s.threshold != null) thresholds[String(s.theme)] = s.threshold;  // a newer model's, once it arrives
        const tr = document.createElement("tr");
        tr.dataset.response = String(s.response);
        if (s.suggested) tr.className = "suggested";
        [s.respondent_id, s.text, pct(s.probability)].forEach(function (v, i) {
          const td = document.createElement("td"); td.textContent = v; if (i === 2) td.className = "num"; tr.append(td);
        });
        rows.append(tr);
      });
      showThreshold();
      $("sg-count").textContent = (body.count || 0) + " responses";
    });
  }

  function themeName(id) {
    const t = config.themes.find(function (x) { return x.id === id; });
    return t ? t.name : "theme " + id;
  }

  function bandQuery(b) {
    return "&theme=" + b.theme + (b.min_probability == null ? "" : "&min_probability=" + b.min_probability) +
      "&max_probability=" + b.max_probability;
  }

  // The whole band as it is now, every page of it: the review shows all of it, and the write carries the ids
  // left ticked (the server never reads the band again, so what was reviewed is what is written).
  function bandItems(b) {
    const items = [], seen = new Set();
    function page(n) {
      return fetch(config.api + "suggestions/?page_size=1000&page=" + n + bandQuery(b), {credentials: "same-origin"})
        .then(function (r) { return r.json().then(function (body) { if (!r.ok) throw new Error(body.message); return body; }); })
        .then(function (body) {
          (body.results || []).forEach(function (s) {
            if (seen.has(s.response)) return;
            seen.add(s.response);
            items.push({id: s.response, text: s.text, detail: pct(s.probability)});
          });
          return body.next ? page(n + 1) : items;
        });
    }
    return page(1);
  }

  function bandLabel(b) {
    const t = thresholds[String(b.theme)];
    const low = b.min_probability == null ? (t == null ? "threshold" : pct(t)) : pct(b.min_probability);
    return low + "–" + pct(b.max_probability);
  }

  // Accept or reject: first the band's responses to review and untick, then exactly the ticked ones are sent.
  function decide(kind) {
    const b = band();
    $("sg-status").textContent = "";
    bandItems(b).then(function (items) {
      if (!items.length) { $("sg-status").textContent = "Nothing to " + kind + "."; return; }
      const name = themeName(b.theme);
      window.ThemeLoopBulkReview.open({
        items: items, themeName: name, verb: kind === "accept" ? "label" : "reject",
        title: "Review " + items.length + " suggestions of “" + name + "” (" + bandLabel(b) + ")",
        onConfirm: function (ids) {
          return post("suggestions/" + kind + "/", {theme: b.theme, responses: ids}).then(function (r) {
            $("sg-status").textContent = (kind === "accept" ? "Labelled " : "Rejected ") + r.count + " responses.";
            show();
          });
        },
      });
    }).catch(function (e) { $("sg-status").textContent = "Failed: " + e.message; });
  }

  $("suggestion-filters").addEventListener("submit", function (e) { e.preventDefault(); show(); });
  $("sg-theme").addEventListener("change", show);
  $("sg-accept").addEventListener("click", function () { decide("accept"); });
  $("sg-reject").addEventListener("click", function () { decide("reject"); });
  window.ThemeLoopLive.start(config);
  window.ThemeLoopLive.onNewModel(show);
  show();
})();
