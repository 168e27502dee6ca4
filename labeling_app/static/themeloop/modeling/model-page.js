// The model page reloads itself when a new version becomes current, so its tables stay true,
// and its per-theme table sorts by the column whose heading is clicked (again: the other way).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("model-config").textContent);
  window.ThemeLoopLive.start(config);
  window.ThemeLoopLive.onNewModel(function () { window.location.reload(); });

  function sortBy(table, th) {
    const headers = Array.from(table.tHead.rows[0].cells);
    const column = headers.indexOf(th);
    const numeric = th.dataset.type === "number";
    // Numbers start high-to-low (the best or biggest first), names A to Z; a second click reverses.
    const first = numeric ? "descending" : "ascending";
    const order = th.getAttribute("aria-sort") === first ? (first === "ascending" ? "descending" : "ascending") : first;
    const sign = order === "ascending" ? 1 : -1;
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).map(function (row, index) {
      const raw = row.cells[column].dataset.value || "";
      return { row: row, key: numeric ? parseFloat(raw) || 0 : raw, index: index };
    });
    rows.sort(function (a, b) {
      if (a.key < b.key) return -sign;
      if (a.key > b.key) return sign;
      return a.index - b.index; // stable: ties keep the previous order
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    headers.forEach(function (h) { h.setAttribute("aria-sort", h === th ? order : "none"); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.from(table.tHead.rows[0].cells).forEach(function (th) {
      const button = th.querySelector("button");
      if (button) button.addEventListener("click", function () { sortBy(table, th); });
    });
  });
})();
