// The map: every response as a point of the run's 2-D layout on a canvas (thousands of points draw in
// one pass), coloured by cluster or by one chosen theme (its responses highlighted), with a legend.
// The wheel and the +/− buttons zoom (about the cursor / the centre), Shift+drag pans, Reset shows all.
// Hover shows the text (as text), a dragged box selects the points inside it at any zoom; labelling the
// selection first shows its responses to review and untick.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("map-tip");
  const legend = document.getElementById("map-legend");
  const colourBy = document.getElementById("colour-by");
  const http = window.ThemeLoop.http;
  const palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
                   "#9d755d", "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];
  const GREY = "#d0d4da", HIGHLIGHT_FALLBACK = "#d62728";
  const MIN_SCALE = 1, MAX_SCALE = 40, STEP = 1.5;
  const themeById = {};
  config.themes.forEach(function (t) { themeById[t.id] = t; });
  let data = null, selected = new Set(), drag = null, pan = null;
  let view = {scale: 1, tx: 0, ty: 0};  // screen = base * scale + t
  const pad = 12;

  function bx(i) { return pad + data.x[i] * (canvas.width - 2 * pad); }
  function by(i) { return pad + (1 - data.y[i]) * (canvas.height - 2 * pad); }
  function px(i) { return bx(i) * view.scale + view.tx; }
  function py(i) { return by(i) * view.scale + view.ty; }

  function chosenTheme() {
    const v = colourBy.value;
    return v.indexOf("theme:") === 0 ? Number(v.slice(6)) : null;
  }

  function clusterColour(c) {
    const info = data.clusters[c];
    return !info || info.outliers ? GREY : palette[c % palette.length];
  }

  function themeColour(id) {
    const t = themeById[id];
    // A pale theme colour would not stand out from the grey of the other points.
    return t && t.colour && t.colour.toLowerCase() !== GREY ? t.colour : HIGHLIGHT_FALLBACK;
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const theme = chosenTheme();
    const size = Math.min(8, 4 * Math.sqrt(view.scale));
    const half = size / 2;
    let highlighted = 0;
    // Two passes when a theme is chosen: highlighted points are drawn last, on top of the others.
    const passes = theme === null ? [null] : [false, true];
    passes.forEach(function (wantHas) {
      for (let i = 0; i < data.ids.length; i++) {
        let fill;
        if (theme === null) {
          fill = clusterColour(data.cluster[i]);
        } else {
          const has = data.themes[i].indexOf(theme) >= 0;
          if (has !== wantHas) continue;
          if (has) highlighted++;
          fill = has ? themeColour(theme) : GREY;
        }
        const x = px(i), y = py(i);
        if (x < -size || y < -size || x > canvas.width + size || y > canvas.height + size) continue;
        ctx.fillStyle = fill;
        ctx.globalAlpha = selected.size && !selected.has(i) ? 0.25 : (theme !== null && fill === GREY ? 0.7 : 0.85);
        ctx.fillRect(x - half, y - half, size, size);
      }
    });
    ctx.globalAlpha = 1;
    if (drag) {
      ctx.strokeStyle = "#3b5bdb";
      ctx.strokeRect(drag.x0, drag.y0, drag.x1 - drag.x0, drag.y1 - drag.y0);
    }
    canvas.dataset.points = String(data.ids.length);
    canvas.dataset.scale = String(Math.round(view.scale * 1000) / 1000);
    canvas.dataset.colourBy = colourBy.value;
    canvas.dataset.highlighted = theme === null ? "" : String(highlighted);
  }

  // The legend is built from text nodes only: cluster and theme names are user input.
  function legendItem(colour, label, count, attrs) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    const name = document.createElement("span");
    name.className = "legend-name";
    name.textContent = label;
    name.title = label;
    const n = document.createElement("span");
    n.className = "muted";
    n.textContent = " " + count;
    li.append(swatch, name, n);
    li.dataset.count = String(count);
    Object.keys(attrs || {}).forEach(function (k) { li.dataset[k] = attrs[k]; });
    return li;
  }

  function renderLegend() {
    legend.replaceChildren();
    const theme = chosenTheme();
    if (theme !== null) {
      let has = 0;
      data.themes.forEach(function (t) { if (t.indexOf(theme) >= 0) has++; });
      const name = themeById[theme] ? themeById[theme].name : "theme";
      legend.append(legendItem(themeColour(theme), "labelled “" + name + "”", has, {kind: "has"}),
                    legendItem(GREY, "other responses", data.ids.length - has, {kind: "other"}));
      return;
    }
    const sizes = {};
    data.cluster.forEach(function (c) { sizes[c] = (sizes[c] || 0) + 1; });
    Object.keys(data.clusters)
      .sort(function (a, b) { return (sizes[b] || 0) - (sizes[a] || 0); })
      .forEach(function (c) {
        const info = data.clusters[c];
        legend.append(legendItem(clusterColour(Number(c)), info.name, sizes[c] || 0,
                                 {cluster: c, kind: info.outliers ? "outliers" : "cluster"}));
      });
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

  // Zoom by `factor` keeping the canvas point (cx, cy) where it is; never smaller than the whole map.
  function zoom(factor, cx, cy) {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
    const k = scale / view.scale;
    view = {scale: scale, tx: cx - (cx - view.tx) * k, ty: cy - (cy - view.ty) * k};
    clamp();
    draw();
  }

  // Keep some of the map in sight: the layout's box may not leave the canvas.
  function clamp() {
    if (view.scale <= MIN_SCALE) { view = {scale: 1, tx: 0, ty: 0}; return; }
    const w = canvas.width * view.scale, h = canvas.height * view.scale;
    view.tx = Math.min(0, Math.max(canvas.width - w, view.tx));
    view.ty = Math.min(0, Math.max(canvas.height - h, view.ty));
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

  canvas.addEventListener("mousedown", function (e) {
    if (!data) return;
    const p = pos(e);
    if (e.shiftKey) { pan = {x: p.x, y: p.y, tx: view.tx, ty: view.ty}; return; }
    drag = {x0: p.x, y0: p.y, x1: p.x, y1: p.y};
  });
  canvas.addEventListener("mousemove", function (e) {
    if (!data) return;
    const p = pos(e);
    if (pan) {
      view.tx = pan.tx + p.x - pan.x; view.ty = pan.ty + p.y - pan.y;
      clamp(); draw(); return;
    }
    if (drag) { drag.x1 = p.x; drag.y1 = p.y; draw(); return; }
    const i = nearest(p);
    if (i < 0) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = data.text[i];  // text, never HTML
    tip.style.left = (e.offsetX + 14) + "px";
    tip.style.top = (e.offsetY + 14) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
  canvas.addEventListener("wheel", function (e) {
    if (!data) return;
    e.preventDefault();  // the page does not scroll while the cursor zooms the map
    const p = pos(e);
    zoom(e.deltaY < 0 ? STEP : 1 / STEP, p.x, p.y);
  }, {passive: false});
  window.addEventListener("mouseup", function () {
    if (pan) { pan = null; return; }
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
  document.getElementById("zoom-in").addEventListener("click", function () {
    if (data) zoom(STEP, canvas.width / 2, canvas.height / 2);
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    if (data) zoom(1 / STEP, canvas.width / 2, canvas.height / 2);
  });
  document.getElementById("zoom-reset").addEventListener("click", function () {
    view = {scale: 1, tx: 0, ty: 0};
    if (data) draw();
  });
  colourBy.addEventListener("change", function () {
    if (!data) return;
    renderLegend();
    draw();
  });
  // "Review and label": the selected responses in the review (bulk-review.js), each can be unticked; exactly the
  // ticked ones are sent, and only those are shown as labelled.
  document.getElementById("selection-label").addEventListener("click", function () {
    const themeSelect = document.getElementById("selection-theme");
    const theme = Number(themeSelect.value);
    const name = themeById[theme] ? themeById[theme].name : themeSelect.options[themeSelect.selectedIndex].text;
    const status = document.getElementById("selection-status");
    const index = {};
    const items = Array.from(selected).map(function (i) {
      index[data.ids[i]] = i;
      return {id: data.ids[i], text: data.text[i]};
    });
    if (!items.length) return;
    status.textContent = "";
    window.ThemeLoopBulkReview.open({
      items: items, themeName: name, verb: "label",
      title: "Review the " + items.length + " selected responses before labelling",
      onConfirm: function (ids) {
        return http.postJSON(config.points.replace("points/", "label/"), {theme: theme, responses: ids})
          .then(http.json)
          .then(function (b) {
            status.textContent = "Labelled " + b.labelled + " with “" + name + "”.";
            // The labels are saved: show them at once when the map is coloured by that theme.
            ids.forEach(function (id) {
              const i = index[id];
              if (i != null && data.themes[i].indexOf(theme) < 0) data.themes[i] = data.themes[i].concat([theme]);
            });
            renderLegend();
            draw();
          });
      },
    });
  });

  function load() {
    fetch(config.points, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
      if (d.failed != null) {  // the layout job failed: say why, in place of an empty map; the clusters are still there
        const failed = document.getElementById("map-failed");
        failed.textContent = "The map could not be laid out: " + d.failed + ". Run discovery again to retry.";
        failed.hidden = false;
        document.querySelector(".map-layout").style.display = "none";  // its CSS display outranks [hidden]
        document.getElementById("map-count").textContent = "no map";
        return;
      }
      if (d.pending) {  // the layout is still being computed: ask again shortly
        document.getElementById("map-count").textContent = "laying out the map…";
        setTimeout(load, 2000);
        return;
      }
      data = d;
      document.getElementById("map-count").textContent = d.ids.length + " responses";
      renderLegend();
      draw();
      canvas.dataset.ready = "true";
    });
  }
  load();
})();
