// The model page reloads itself when a new version becomes current, so its tables stay true.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("model-config").textContent);
  window.ThemeLoopLive.start(config);
  window.ThemeLoopLive.onNewModel(function () { window.location.reload(); });
})();
