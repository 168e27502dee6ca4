// The map: every response as a point of the run's 2-D layout on a canvas (thousands of points draw in
// one pass), coloured by cluster or theme; hover shows the text (as text), a dragged box selects points.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("map-tip");
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
                   "#9d755d", "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];
  const themeColour = {};
  config.themes.forEach(function (t) { themeColour[t.id] = t.colour; });
  let data = null, selected = new Set(), drag = null;
  const pad = 12;

  function px(i) { return pad + data.x[i] * (canvas.width - 2 * pad); }
  function py(i) { return pad + (1 - data.y[i]) * (canvas.height - 2 * pad); }

  function colour(i) {
    if (document.getElementById("colour-by").value === "theme") {
      const t = data.themes[i];
      return t.length ? (themeColour[t[0]] || "#888") : "#d0d4da";
    }
    const c = data.cluster[i];
    const info = data.clusters[c];
    if (!info || info.outliers) return "#d0d4da";
    return palette[c % palette.length];
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.ids.length; i++) {
      ctx.fillStyle = colour(i);
      ctx.globalAlpha = selected.size && !selected.has(i) ? 0.25 : 0.85;
      ctx.fillRect(px(i) - 2, py(i) - 2, 4, 4);
    }
    ctx.globalAlpha = 1;
    if (drag) {
      ctx.strokeStyle = "#3b5bdb";
      ctx.strokeRect(drag.x0, drag.y0, drag.x1 - drag.x0, drag.y1 - drag.y0);
    }
    canvas.dataset.points = String(data.ids.length);
  }

  function pos(e) {
    const r = canvas.getBoundingClientRect();
    return {x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height};
  }

  function nearest(p) {
    let best = -1, bestD = 64;
    for (let i = 0; i < data.ids.length; i++) {
      const d = (px(i) - p.x) ** 2 + (py(i) - p.y) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  function showSelection() {
    const box = document.getElementById("selection");
    box.hidden = selected.size === 0;
    document.getElementById("selection-count").textContent = String(selected.size);
    const list = document.getElementById("selection-list");
    list.replaceChildren();
    Array.from(selected).slice(0, 50).forEach(function (i) {
      const li = document.createElement("li"); li.textContent = data.text[i]; list.append(li);
    });
  }

  canvas.addEventListener("mousedown", function (e) { const p = pos(e); drag = {x0: p.x, y0: p.y, x1: p.x, y1: p.y}; });
  canvas.addEventListener("mousemove", function (e) {
    const p = pos(e);
    if (drag) { drag.x1 = p.x; drag.y1 = p.y; draw(); return; }
    const i = nearest(p);
    if (i < 0) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = data.text[i];  // text, never HTML
    tip.style.left = (e.offsetX + 14) + "px";
    tip.style.top = (e.offsetY + 14) + "px";
  });
  window.addEventListener("mouseup", function () {
    if (!drag) return;
    const x0 = Math.min(drag.x0, drag.x1), x1 = Math.max(drag.x0, drag.x1);
    const y0 = Math.min(drag.y0, drag.y1), y1 = Math.max(drag.y0, drag.y1);
    drag = null;
    if (x1 - x0 > 3 && y1 - y0 > 3) {
      selected = new Set();
      for (let i = 0; i < data.ids.length; i++) {
        if (px(i) >= x0 && px(i) <= x1 && py(i) >= y0 && py(i) <= y1) selected.add(i);
      }
      showSelection();
    }
    draw();
  });
  document.getElementById("colour-by").addEventListener("change", draw);
  document.getElementById("selection-label").addEventListener("click", function () {
    const ids = Array.from(selected).map(function (i) { return data.ids[i]; });
    fetch(config.points.replace("points/", "label/"), {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({theme: Number(document.getElementById("selection-theme").value), responses: ids})})
      .then(function (r) { return r.json(); })
      .then(function (b) { document.getElementById("selection-status").textContent = b.labelled != null ? "Labelled " + b.labelled + "." : b.message; });
  });

  function load() {
    fetch(config.points, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
      if (d.pending) {  // the layout is still being computed: ask again shortly
        document.getElementById("map-count").textContent = "laying out the map…";
        setTimeout(load, 2000);
        return;
      }
      data = d;
      document.getElementById("map-count").textContent = d.ids.length + " responses";
      draw();
      canvas.dataset.ready = "true";
    });
  }
  load();
})();
