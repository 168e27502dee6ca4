// Suggestions review: pick a theme and a probability band, preview the count, accept or reject in bulk.
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
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

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
    return fetch(config.api + path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.message); return b; }); });
  }

  function show() {
    const b = band();
    showThreshold();
    const q = "suggestions/?page_size=200&theme=" + b.theme +
      (b.min_probability == null ? "" : "&min_probability=" + b.min_probability) +
      "&max_probability=" + b.max_probability;
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

  function decide(kind) {
    const b = band();
    post("suggestions/" + kind + "/", Object.assign({preview: true}, b)).then(function (p) {
      if (!p.count) { $("sg-status").textContent = "Nothing to " + kind + "."; return null; }
      if (!window.confirm(kind[0].toUpperCase() + kind.slice(1) + " this theme for " + p.count + " responses?")) return null;
      return post("suggestions/" + kind + "/", b).then(function (r) {
        $("sg-status").textContent = (kind === "accept" ? "Labelled " : "Rejected ") + r.count + " responses.";
        show();
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
