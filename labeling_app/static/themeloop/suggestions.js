// Suggestions review: pick a theme and a probability band, preview the count, accept or reject in bulk.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("suggestions-config").textContent);
  const $ = function (id) { return document.getElementById(id); };
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

  function band() {
    return {theme: Number($("sg-theme").value), min_probability: Number($("sg-min").value),
            max_probability: Number($("sg-max").value)};
  }

  function post(path, body) {
    return fetch(config.api + path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.message); return b; }); });
  }

  function show() {
    const b = band();
    const q = "suggestions/?page_size=200&theme=" + b.theme + "&min_probability=" + b.min_probability +
      "&max_probability=" + b.max_probability;
    fetch(config.api + q, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (body) {
      const rows = $("suggestion-list").querySelector("tbody");
      rows.replaceChildren();
      (body.results || []).forEach(function (s) {
        const tr = document.createElement("tr");
        [s.respondent_id, s.text, Math.round(s.probability * 100) + "%"].forEach(function (v, i) {
          const td = document.createElement("td"); td.textContent = v; if (i === 2) td.className = "num"; tr.append(td);
        });
        rows.append(tr);
      });
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
  $("sg-accept").addEventListener("click", function () { decide("accept"); });
  $("sg-reject").addEventListener("click", function () { decide("reject"); });
  window.ThemeLoopLive.start(config);
  window.ThemeLoopLive.onNewModel(show);
  show();
})();
