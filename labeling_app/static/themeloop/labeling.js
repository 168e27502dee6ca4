// The labeling page: one response at a time from the active-learning queue, themes toggled by their
// keys, suggestions marked with their probability, and the batch submitted in one request.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("labeling-config").textContent);
  const $ = function (id) { return document.getElementById(id); };
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const themes = config.themes;
  const byKey = {};
  themes.forEach(function (t) { if (t.shortcut) byKey[t.shortcut] = t; });

  let batch = [];
  let index = 0;
  let busy = false;
  const chosen = new Map();   // response id -> Set of theme ids
  const visited = new Set();  // responses the analyst has moved past with Enter (coded)
  const flagged = new Set();
  const skipped = new Set();
  let suggestionsVersion = config.model ? config.model.version : null;

  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({"Accept": "application/json", "X-CSRFToken": csrf}, options.headers || {});
    options.credentials = "same-origin";
    return fetch(config.api + path, options).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || ("HTTP " + r.status));
        return body;
      });
    });
  }

  function status(text, kind) {
    const line = $("status-line");
    line.textContent = text;
    line.className = "status-line " + (kind || "");
  }

  function item() { return batch[index]; }

  function render() {
    const root = $("labeling");
    const it = item();
    if (!it) {
      root.dataset.state = "empty";
      $("response-card").dataset.response = "";
      $("response-text").textContent = "Nothing left to label in this project for now.";
      $("respondent").textContent = "";
      $("response-meta").replaceChildren();
      $("theme-toggles").replaceChildren();
      $("batch-progress").textContent = "";
      return;
    }
    root.dataset.state = "ready";
    const card = $("response-card");
    card.dataset.response = String(it.id);
    card.dataset.suggestionsVersion = suggestionsVersion == null ? "" : String(suggestionsVersion);
    $("batch-progress").textContent = "response " + (index + 1) + " of " + batch.length;
    $("respondent").textContent = it.respondent_id;
    $("response-text").textContent = it.text;  // text, never HTML
    const meta = $("response-meta");
    meta.replaceChildren();
    Object.keys(it.metadata || {}).forEach(function (k) {
      if (!it.metadata[k]) return;
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = it.metadata[k];
      meta.append(dt, dd);
    });
    $("flag").hidden = !flagged.has(it.id);
    $("skipped").hidden = !skipped.has(it.id);
    const picked = chosen.get(it.id) || new Set();
    const probs = {};
    (it.suggestions || []).forEach(function (s) { probs[s.theme] = s; });
    const box = $("theme-toggles");
    box.replaceChildren();
    themes.forEach(function (t) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "toggle";
      b.dataset.theme = String(t.id);
      b.style.setProperty("--chip", t.colour);
      b.setAttribute("aria-pressed", picked.has(t.id) ? "true" : "false");
      b.title = t.description || t.name;
      const key = document.createElement("kbd"); key.textContent = t.shortcut || " ";
      const name = document.createElement("span"); name.className = "name"; name.textContent = t.name;
      b.append(key, name);
      const s = probs[t.id];
      if (s) {
        const p = document.createElement("span");
        p.className = "prob";
        p.textContent = Math.round(s.probability * 100) + "%";
        b.append(p);
        b.dataset.probability = String(s.probability);
        if (s.suggested) b.classList.add("suggested");
      }
      b.addEventListener("click", function () { toggle(t.id); });
      box.append(b);
    });
  }

  function toggle(themeId) {
    const it = item(); if (!it) return;
    const set = chosen.get(it.id) || new Set();
    if (set.has(themeId)) set.delete(themeId); else set.add(themeId);
    chosen.set(it.id, set);
    skipped.delete(it.id);
    render();
  }

  function acceptSuggestions() {
    const it = item(); if (!it) return;
    const set = chosen.get(it.id) || new Set();
    (it.suggestions || []).forEach(function (s) { if (s.suggested) set.add(s.theme); });
    chosen.set(it.id, set);
    render();
  }

  function move(step) {
    index = Math.max(0, Math.min(batch.length - 1, index + step));
    render();
  }

  function next() {
    const it = item(); if (!it) return;
    visited.add(it.id);
    skipped.delete(it.id);
    if (index === batch.length - 1) { status("End of the batch: Shift+Enter submits it."); return; }
    move(1);
  }

  function skip() {
    const it = item(); if (!it) return;
    skipped.add(it.id);
    visited.delete(it.id);
    if (index < batch.length - 1) move(1); else render();
  }

  function flag() {
    const it = item(); if (!it) return;
    if (flagged.has(it.id)) flagged.delete(it.id); else flagged.add(it.id);
    render();
  }

  function submit() {
    if (busy || !batch.length) return;
    const it = item();
    if (it && !skipped.has(it.id)) visited.add(it.id);
    const items = batch.filter(function (r) { return visited.has(r.id) || skipped.has(r.id); }).map(function (r) {
      return {response: r.id, themes: Array.from(chosen.get(r.id) || []), flagged: flagged.has(r.id),
              skipped: skipped.has(r.id)};
    });
    if (!items.length) { status("Nothing coded yet in this batch."); return; }
    busy = true;
    status("Saving " + items.length + "…");
    api("annotations/", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(items)})
      .then(function (result) {
        status("Saved " + result.saved + (result.skipped ? ", skipped " + result.skipped : "") +
               ". The model retrains in the background.", "ok");
        document.body.dataset.submitted = String(Number(document.body.dataset.submitted || 0) + 1);
        return load();
      })
      .catch(function (err) { status("Not saved: " + err.message + ". Your labels are still here; try again.", "error"); })
      .finally(function () { busy = false; });
  }

  function load() {
    return api("queue/?size=" + config.batchSize).then(function (items) {
      batch = items; index = 0;
      chosen.clear(); visited.clear(); flagged.clear(); skipped.clear();
      suggestionsVersion = window.ThemeLoopLive.model() ? window.ThemeLoopLive.model().version : null;
      render();
    });
  }

  function refreshSuggestions(model) {
    if (!batch.length) return;
    const ids = batch.map(function (r) { return r.id; }).join(",");
    api("suggestions/?page_size=1000&responses=" + ids).then(function (body) {
      const byResponse = {};
      (body.results || []).forEach(function (s) {
        (byResponse[s.response] = byResponse[s.response] || []).push(
          {theme: s.theme, probability: s.probability, suggested: s.suggested});
      });
      batch.forEach(function (r) { r.suggestions = byResponse[r.id] || []; });
      suggestionsVersion = model.version;
      render();
    });
  }

  document.addEventListener("keydown", function (e) {
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" && e.shiftKey) { submit(); }
    else if (e.key === "Enter") { next(); }
    else if (e.key === " ") { acceptSuggestions(); }
    else if (e.key === "ArrowLeft" || e.key === "Backspace") { move(-1); }
    else if (e.key === "ArrowRight") { skip(); }
    else if (e.key === "F" && e.shiftKey) { flag(); }
    else if (byKey[e.key]) { toggle(byKey[e.key].id); }
    else { return; }
    e.preventDefault();
  });
  $("btn-back").addEventListener("click", function () { move(-1); });
  $("btn-skip").addEventListener("click", skip);
  $("btn-flag").addEventListener("click", flag);
  $("btn-accept").addEventListener("click", acceptSuggestions);
  $("btn-next").addEventListener("click", next);
  $("btn-submit").addEventListener("click", submit);

  window.ThemeLoopLive.start(config);
  window.ThemeLoopLive.onNewModel(function (model) { if (model) refreshSuggestions(model); });
  load().catch(function (err) { status("Could not load the queue: " + err.message, "error"); });
})();
