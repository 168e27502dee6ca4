// Live model status for every project page: an EventSource on the project's stream, a badge that
// says which model version is current, and a hook for pages that want to react to a new version.
(function () {
  "use strict";
  const listeners = [];
  const MICRO_F1 = "Micro F1 (0 to 1): how closely the model's themes match the ones people gave, counting every " +
    "theme decision on every response together; 1 means always the same.";
  let current = null;

  function ago(iso) {
    if (!iso) return "";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  function renderBadge() {
    const badge = document.getElementById("model-badge");
    if (!badge) return;
    if (!current) { badge.textContent = "no model yet"; badge.dataset.version = ""; return; }
    const f1 = current.micro_f1 == null ? "–" : current.micro_f1.toFixed(2);
    badge.textContent = "v" + current.version + " · " + current.labelled_responses + " labels · micro F1 " + f1 +
      " · " + ago(current.made_current_at);
    badge.dataset.version = String(current.version);
    badge.title = MICRO_F1;
  }

  function accept(model) {
    const changed = (model && model.version) !== (current && current.version);
    current = model;
    renderBadge();
    if (changed) listeners.forEach(function (fn) { fn(model); });
  }

  window.ThemeLoopLive = {
    start: function (config) {
      current = config.model || null;
      renderBadge();
      setInterval(renderBadge, 1000);
      // EventSource reconnects by itself; on each (re)connect the server sends the current model first,
      // so a page that lost the connection catches up.
      const source = new EventSource(config.events);
      source.addEventListener("model", function (e) { accept(JSON.parse(e.data).model); });
      source.addEventListener("open", function () { document.body.dataset.live = "connected"; });
      source.addEventListener("error", function () { document.body.dataset.live = "reconnecting"; });
      // Redis is down: the server ends the stream and asks for a slower retry.
      source.addEventListener("unavailable", function () { document.body.dataset.live = "unavailable"; });
    },
    onNewModel: function (fn) { listeners.push(fn); },
    model: function () { return current; },
  };
})();
