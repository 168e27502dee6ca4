// The labeling page: one response at a time from the active-learning queue (or one re-opened response),
// themes toggled by their keys or found by typing, suggestions marked with their probability, and the
// batch submitted in one request.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("labeling-config").textContent);
  const $ = function (id) { return document.getElementById(id); };
  const http = window.ThemeLoop.http;
  const themes = config.themes;
  const nets = config.nets || [];
  const collapseKey = "themeloop.nets.collapsed." + config.project;
  const collapsedNets = new Set((function () {
    try { return JSON.parse(localStorage.getItem(collapseKey) || "[]"); } catch (e) { return []; }
  })());
  const themeById = new Map(themes.map(function (t) { return [t.id, t]; }));

  // Keys: a theme's own shortcut first; themes past the single keys get a prefix key then a key
  // (";" then "a"), so a set of 40-80 themes is all reachable from the keyboard. The prefixes are
  // keys no theme uses on its own; the second key of each layer comes from the same key row.
  const LAYER_KEYS = "1234567890qwertyuiopasdfghjklzxcvbnm";
  const singles = new Set(themes.map(function (t) { return t.shortcut; }).filter(Boolean));
  const PREFIXES = [";", "'", ",", ".", "[", "]", "-", "="].filter(function (k) { return !singles.has(k); });
  const byKey = {};       // single key -> theme
  const layers = {};      // prefix -> {key -> theme}
  let slot = 0;
  themes.forEach(function (t) {
    if (t.shortcut) { t.keys = [t.shortcut]; byKey[t.shortcut] = t; return; }
    const prefix = PREFIXES[Math.floor(slot / LAYER_KEYS.length)];
    const key = LAYER_KEYS[slot % LAYER_KEYS.length];
    slot += 1;
    if (!prefix) { t.keys = []; return; }  // beyond ~300 themes: filter by name instead
    t.keys = [prefix, key];
    (layers[prefix] = layers[prefix] || {})[key] = t;
  });

  let batch = [];
  let index = 0;
  let busy = false;
  let pendingPrefix = null;   // the prefix key pressed, waiting for its second key
  let filterText = "";
  let highlight = 0;          // which filter match Enter toggles
  let reopen = config.reopen || null;
  const chosen = new Map();   // response id -> Set of theme ids
  const visited = new Set();  // responses the analyst has moved past with Enter (coded)
  const flagged = new Set();
  const moods = new Map();     // response id -> the sentiment level chosen (1 = most positive)
  // Sentiment beside the themes: its levels' names by level ("1": "very positive", ...); {} when not coded.
  const moodNames = config.sentiment || {};
  const moodLevels = Object.keys(moodNames).map(Number).sort(function (a, b) { return a - b; });
  const skipped = new Set();
  let suggestionsVersion = config.model ? config.model.version : null;
  const SORT_KEY = "themeloop.label.sortByProbability";
  try { $("sort-prob").checked = window.localStorage.getItem(SORT_KEY) === "1"; } catch (e) { /* no storage */ }

  function api(path, options) {
    options = Object.assign({}, options || {});
    options.headers = Object.assign({"Accept": "application/json"}, options.headers || {});
    return http.request(config.api + path, options).then(http.json);
  }

  function status(text, kind, link) {
    const line = $("status-line");
    line.textContent = text;
    if (link) {
      const a = document.createElement("a"); a.href = link.href; a.textContent = link.text;
      line.append(" ", a);
    }
    line.className = "status-line " + (kind || "");
  }

  function pct(p) { return Math.round(p * 100) + "%"; }

  function item() { return batch[index]; }

  // Unsaved: anything in the batch that differs from what the server has (re-opened labels count as saved).
  function dirty() {
    return batch.some(function (r) {
      const now = chosen.get(r.id) || new Set();
      const saved = new Set(r.themes || []);
      const same = now.size === saved.size && Array.from(now).every(function (t) { return saved.has(t); });
      return !same || flagged.has(r.id) !== Boolean(r.flagged) || skipped.has(r.id) ||
        (moods.get(r.id) || null) !== (r.sentiment || null);
    });
  }

  function fold(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }

  // Filter matches, best first: names starting with the text, then a word starting with it, then containing it.
  function matches() {
    const q = fold(filterText.trim());
    if (!q) return null;
    const ranked = [];
    themes.forEach(function (t) {
      const name = fold(t.name);
      const at = name.indexOf(q);
      if (at < 0) return;
      const rank = at === 0 ? 0 : (/[^a-z0-9]/.test(name[at - 1]) ? 1 : 2);
      ranked.push({t: t, rank: rank});
    });
    ranked.sort(function (a, b) { return a.rank - b.rank || a.t.name.length - b.t.name.length; });
    return ranked.map(function (m) { return m.t; });
  }

  function showInfo(t, suggestion) {
    if (!t) return;
    $("theme-info-name").textContent = t.name;
    $("theme-info-desc").textContent = t.description || "No description yet.";
    $("theme-info-prob").textContent = suggestion
      ? (suggestion.source === "theme names" ? "From the theme names (no labels yet): " : "Model: ") +
        pct(suggestion.probability) + " (suggested from " + pct(suggestion.threshold || 0.5) + ")"
      : "";
  }

  function renderThemes(it) {
    const picked = chosen.get(it.id) || new Set();
    const probs = {};
    (it.suggestions || []).forEach(function (s) { probs[s.theme] = s; });
    const found = matches();
    let shown;
    if (found) {
      shown = found;
    } else if ($("sort-prob").checked) {
      shown = themes.slice().sort(function (a, b) {
        return ((probs[b.id] || {}).probability || 0) - ((probs[a.id] || {}).probability || 0);
      });
    } else {
      shown = themes;
    }
    $("suggest-legend").hidden = !(it.suggestions || []).length;
    highlight = found ? Math.max(0, Math.min(highlight, found.length - 1)) : 0;
    $("no-match").hidden = !(found && !found.length);
    $("theme-count").textContent = found ? found.length + " of " + themes.length : themes.length + " themes";
    const box = $("theme-toggles");
    box.replaceChildren();
    // Under nets (collapsible, each with how many of its codes are on) when the list is in the codeframe's
    // order; a filter or the sort by probability shows one flat list. Keys are the same either way.
    const grouped = !found && !$("sort-prob").checked && nets.length > 0;
    const holders = new Map();
    if (grouped) {
      box.classList.add("grouped");
      nets.concat([{id: null, name: "Not under a net"}]).forEach(function (n) {
        const members = themes.filter(function (t) { return (t.net || null) === n.id; });
        if (!members.length) return;
        const group = document.createElement("details");
        group.className = "net-group";
        group.dataset.net = String(n.id);
        group.open = !collapsedNets.has(String(n.id));
        const summary = document.createElement("summary");
        const on = members.filter(function (t) { return picked.has(t.id); }).length;
        const sug = members.filter(function (t) { return (probs[t.id] || {}).suggested; }).length;
        summary.textContent = n.name + " ";
        const count = document.createElement("span");
        count.className = "small muted net-count";
        count.textContent = members.length + (members.length === 1 ? " code" : " codes") + (on ? " · " + on + " on" : "") + (sug ? " · " + sug + " suggested" : "");
        summary.append(count);
        if (on) group.classList.add("has-on");
        // Remembered on the summary's click (which then toggles), not on "toggle": that event comes later, as a
        // task of its own, also for the open state set above, and a re-render in between (a key pressed right
        // after the click) let a new group's initial event undo the analyst's choice.
        summary.addEventListener("click", function () {
          if (group.open) collapsedNets.add(String(n.id)); else collapsedNets.delete(String(n.id));
          try { localStorage.setItem(collapseKey, JSON.stringify(Array.from(collapsedNets))); } catch (e) { /* private mode */ }
        });
        const inner = document.createElement("div");
        inner.className = "toggles";
        group.append(summary, inner);
        box.append(group);
        holders.set(n.id, inner);
      });
    } else {
      box.classList.remove("grouped");
    }
    shown.forEach(function (t, i) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "toggle";
      b.dataset.theme = String(t.id);
      b.dataset.keys = t.keys.join(" ");
      b.style.setProperty("--chip", t.colour);
      b.setAttribute("aria-pressed", picked.has(t.id) ? "true" : "false");
      b.title = t.name + (t.description ? "\n\n" + t.description : "");
      const key = document.createElement("kbd"); key.textContent = t.keys.join("") || " ";
      if (pendingPrefix && t.keys[0] === pendingPrefix) key.classList.add("armed");
      const name = document.createElement("span"); name.className = "name"; name.textContent = t.name;
      b.append(key, name);
      const s = probs[t.id];
      if (s) {
        const p = document.createElement("span");
        p.className = "prob";
        // The theme's own threshold beside the probability: suggestions are per theme, so 27% can be
        // suggested (threshold 22%) while 32% is not (threshold 40%).
        p.textContent = pct(s.probability) + (s.threshold == null ? "" : (s.suggested ? " ≥ " : " < ") + pct(s.threshold));
        p.title = (s.source === "theme names" ? "From the theme names (no labels yet): " : "Model probability ") +
          pct(s.probability) + (s.threshold == null ? "" :
          "; suggested from " + pct(s.threshold) + ", this theme's own threshold");
        b.append(p);
        b.dataset.probability = String(s.probability);
        if (s.suggested) b.classList.add("suggested");
      }
      if (found && i === highlight) { b.classList.add("match"); showInfo(t, s); }
      b.addEventListener("click", function () { toggle(t.id); });
      b.addEventListener("mouseenter", function () { showInfo(t, s); });
      b.addEventListener("focus", function () { showInfo(t, s); });
      (grouped ? holders.get(t.net || null) : box).append(b);
    });
  }

  function render() {
    const root = $("labeling");
    const it = item();
    $("reopen-note").hidden = !reopen;
    $("btn-skip").hidden = Boolean(reopen);  // a re-opened response is corrected, not passed on
    if (!it) {
      root.dataset.state = "empty";
      $("response-card").dataset.response = "";
      $("response-text").textContent = "Nothing left to label in this project for now.";
      $("respondent").textContent = "";
      $("response-meta").replaceChildren();
      $("theme-toggles").replaceChildren();
      $("suggest-legend").hidden = true;
      $("blind").hidden = true;
      renderReviewNote(null);
      $("batch-progress").textContent = "";
      return;
    }
    root.dataset.state = "ready";
    const card = $("response-card");
    card.dataset.response = String(it.id);
    card.dataset.suggestionsVersion = suggestionsVersion == null ? "" : String(suggestionsVersion);
    $("batch-progress").textContent = reopen ? "" : "response " + (index + 1) + " of " + batch.length;
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
    $("blind").hidden = !it.blind;
    renderReviewNote(it.review_note);
    renderMood(it);
    renderThemes(it);
  }

  // The sentiment buttons (Shift+1 … Shift+5): the chosen level pressed, the model's likeliest level marked.
  function renderMood(it) {
    const bar = $("sentiment-bar");
    if (!moodLevels.length) { bar.hidden = true; return; }
    bar.hidden = false;
    const box = $("sentiment-levels");
    box.replaceChildren();
    const mine = moods.get(it.id) || null;
    const hint = it.sentiment_suggestion || null;
    moodLevels.forEach(function (level) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "mood mood-" + level + "-of-" + moodLevels.length;
      b.dataset.level = String(level);
      b.setAttribute("aria-pressed", mine === level ? "true" : "false");
      const key = document.createElement("kbd"); key.textContent = "⇧" + level;
      const name = document.createElement("span"); name.textContent = moodNames[level];
      b.append(key, name);
      if (hint && hint.level === level) {
        b.classList.add("suggested");
        const p = document.createElement("span"); p.className = "prob"; p.textContent = pct(hint.probability);
        b.append(p);
        b.title = "The model's likeliest sentiment: " + pct(hint.probability);
      }
      b.addEventListener("click", function () { setMood(level); });
      box.append(b);
    });
  }

  function setMood(level) {
    const it = item(); if (!it) return;
    if (moods.get(it.id) === level) moods.delete(it.id); else moods.set(it.id, level);  // again: cleared
    skipped.delete(it.id);
    render();
  }

  // A response a lead sent back: their comment, who and when (text only; never anyone's themes).
  function renderReviewNote(note) {
    $("review-note").hidden = !note;
    if (!note) return;
    const at = new Date(note.at);
    const when = isNaN(at) ? "" : " · " + at.toLocaleString([], {dateStyle: "medium", timeStyle: "short"});
    $("review-note-by").textContent = "Sent back by " + note.by + when;
    $("review-note-text").textContent = note.comment;
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
    // `suggested` is decided on the server against each theme's own threshold.
    (it.suggestions || []).forEach(function (s) { if (s.suggested && themeById.has(s.theme)) set.add(s.theme); });
    chosen.set(it.id, set);
    if (moodLevels.length && !moods.has(it.id) && it.sentiment_suggestion) moods.set(it.id, it.sentiment_suggestion.level);
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
    const it = item(); if (!it || reopen) return;
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
      const row = {response: r.id, themes: Array.from(chosen.get(r.id) || []), flagged: flagged.has(r.id),
                   skipped: skipped.has(r.id)};
      if (moodLevels.length) row.sentiment = moods.get(r.id) || null;
      return row;
    });
    if (!items.length) { status("Nothing coded yet in this batch."); return; }
    busy = true;
    status("Saving " + items.length + "…");
    const wasReopen = reopen;
    api("annotations/", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(items)})
      .then(function (result) {
        if (wasReopen) {
          status("Saved your correction. The model retrains in the background.", "ok",
                 {href: config.responsesUrl, text: "Back to Responses"});
          // Carry on with the queue; the address no longer points at the corrected response.
          reopen = null;
          window.history.replaceState(null, "", window.location.pathname);
        } else {
          status("Saved " + result.saved + (result.skipped ? ", skipped " + result.skipped : "") +
                 ". The model retrains in the background.", "ok");
        }
        document.body.dataset.submitted = String(Number(document.body.dataset.submitted || 0) + 1);
        return load();
      })
      .catch(function (err) { status("Not saved: " + err.message + ". Your labels are still here; try again.", "error"); })
      .finally(function () { busy = false; });
  }

  function load() {
    const path = reopen ? "queue/?response=" + reopen : "queue/?size=" + config.batchSize;
    return api(path).then(function (items) {
      batch = items; index = 0;
      chosen.clear(); visited.clear(); flagged.clear(); skipped.clear(); moods.clear();
      batch.forEach(function (r) {
        // A re-opened response starts from the analyst's current labels; submitting replaces them.
        if ((r.themes || []).length) chosen.set(r.id, new Set(r.themes));
        if (r.flagged) flagged.add(r.id);
        if (r.sentiment) moods.set(r.id, r.sentiment);
      });
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
          {theme: s.theme, probability: s.probability, threshold: s.threshold, suggested: s.suggested});
      });
      batch.forEach(function (r) { r.suggestions = byResponse[r.id] || []; });
      suggestionsVersion = model.version;
      render();
    });
    if (moodLevels.length) {
      api("suggestions/?level=sentiment&responses=" + ids).then(function (rows) {
        const byResponse = {};
        rows.forEach(function (s) { byResponse[s.response] = s; });
        batch.forEach(function (r) { if (!r.blind) r.sentiment_suggestion = byResponse[r.id] || null; });
        render();
      });
    }
  }

  function setPrefix(prefix) {
    pendingPrefix = prefix;
    const hint = $("prefix-hint");
    hint.hidden = !prefix;
    hint.textContent = prefix ? prefix + " … then the theme's second key (Esc cancels)" : "";
    render();
  }

  function setFilter(text) {
    filterText = text;
    highlight = 0;
    if ($("theme-filter").value !== text) $("theme-filter").value = text;
    render();
  }

  const filterInput = $("theme-filter");
  filterInput.addEventListener("input", function () { filterText = filterInput.value; highlight = 0; render(); });
  filterInput.addEventListener("keydown", function (e) {
    const found = matches();
    if (e.key === "Enter" && !e.shiftKey) {
      // Enter toggles the highlighted match, then hands the keyboard back to the page (Enter = next).
      if (found && found.length) toggle(found[highlight].id);
      setFilter("");
      filterInput.blur();
    } else if (e.key === "Escape") {
      // Clear and hand the keyboard back, so theme keys work again at once.
      setFilter("");
      filterInput.blur();
    } else if ((e.key === "ArrowDown" || e.key === "ArrowUp") && found && found.length) {
      highlight = (highlight + (e.key === "ArrowDown" ? 1 : found.length - 1)) % found.length;
      render();
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  });

  document.addEventListener("keydown", function (e) {
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (pendingPrefix) {
      if (e.key === "Shift") return;
      const t = (layers[pendingPrefix] || {})[e.key];
      const prefix = pendingPrefix;
      setPrefix(null);
      if (t) toggle(t.id);
      else if (e.key !== "Escape") status("No theme on " + prefix + e.key + ".");
      e.preventDefault();
      return;
    }
    if (e.shiftKey && moodLevels.length && /^Digit[1-9]$/.test(e.code) && moodNames[e.code.slice(5)]) {
      setMood(Number(e.code.slice(5)));
    }
    else if (e.key === "Enter" && e.shiftKey) { submit(); }
    else if (e.key === "Enter") { next(); }
    else if (e.key === " ") { acceptSuggestions(); }
    else if (e.key === "ArrowLeft" || e.key === "Backspace") { move(-1); }
    else if (e.key === "ArrowRight") { skip(); }
    else if (e.key === "F" && e.shiftKey) { flag(); }
    else if (byKey[e.key]) { toggle(byKey[e.key].id); }
    else if (layers[e.key]) { setPrefix(e.key); }
    else if (e.key === "/") { filterInput.focus(); filterInput.select(); }
    else if (e.key === "Escape" && filterText) { setFilter(""); }
    else { return; }
    e.preventDefault();
  });
  $("sort-prob").addEventListener("change", function () {
    try { window.localStorage.setItem(SORT_KEY, $("sort-prob").checked ? "1" : "0"); } catch (e) { /* no storage */ }
    $("sort-prob").blur();  // keep theme keys working after clicking the box
    render();
  });
  window.addEventListener("beforeunload", function (e) {
    if (!dirty()) return;
    e.preventDefault();
    e.returnValue = "";  // older browsers need a value to show their "leave site?" prompt
  });
  $("btn-back").addEventListener("click", function () { move(-1); });
  $("btn-skip").addEventListener("click", skip);
  $("btn-flag").addEventListener("click", flag);
  $("btn-accept").addEventListener("click", acceptSuggestions);
  $("btn-next").addEventListener("click", next);
  $("btn-submit").addEventListener("click", submit);

  window.ThemeLoopLive.start(config);
  window.ThemeLoopLive.onNewModel(function (model) { if (model) refreshSuggestions(model); });
  load().catch(function (err) { status("Could not load " + (reopen ? "that response" : "the queue") + ": " + err.message, "error"); });
})();
