// The Model page's "Code the rest with the model" card: preview the auto-code gate at a target (nothing written),
// confirm it, undo it, and draw the blind check; all through /api/projects/<id>/autocode/.
(function () {
  "use strict";
  const card = document.getElementById("autocode");
  if (!card) return;
  const http = window.ThemeLoop.http;
  const api = card.dataset.api;
  const target = document.getElementById("autocode-target");
  const previewBox = document.getElementById("autocode-preview");
  const currentBox = document.getElementById("autocode-current");
  const errorBox = document.getElementById("autocode-error");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([k, v]) { node.setAttribute(k, v); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function f2(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(2); }
  function range(pair) { return pair && pair.length === 2 ? f2(pair[0]) + " to " + f2(pair[1]) : ""; }
  function fail(err) { errorBox.textContent = err.message; }

  function showPreview(p) {
    previewBox.replaceChildren();
    if (!p) { previewBox.append(el("p", {"class": "muted"}, "No model predictions yet.")); return; }
    const head = el("p", {id: "autocode-claim"});
    head.textContent = "Model v" + p.model_version + " would code " + p.coded.toLocaleString() + " of the " +
      p.eligible.toLocaleString() + " uncoded responses (" + Math.round(p.coverage * 100) + "%)" +
      (p.coded ? ", expected micro F1 " + f2(p.claimed_f1) + " (90% interval " + range(p.interval) + ")" : "") +
      "; " + p.left.toLocaleString() + " stay in the queue.";
    previewBox.append(head);
    const table = el("table", {"class": "list", id: "autocode-themes"});
    const thead = el("thead"); const tr = el("tr");
    tr.append(el("th", {}, "Theme"), el("th", {"class": "num"}, "Responses the model would code with it"));
    thead.append(tr); table.append(thead);
    const body = el("tbody");
    p.per_theme.forEach(function (row) {
      const r = el("tr", {"data-theme": row.theme});
      r.append(el("td", {}, row.name), el("td", {"class": "num"}, String(row.coded)));
      body.append(r);
    });
    table.append(body);
    const wrap = el("div", {"class": "table-scroll"}); wrap.append(table); previewBox.append(wrap);
    if (p.coded) {
      const confirm = el("button", {type: "button", id: "autocode-confirm", "class": "primary"},
                         "Code " + p.coded.toLocaleString() + " responses as the model's");
      confirm.addEventListener("click", function () {
        errorBox.textContent = "";
        http.postJSON(api, {target: Number(target.value)}).then(http.json).then(function (body) {
          showCurrent(body.current); preview();
        }).catch(fail);
      });
      previewBox.append(confirm);
    }
  }

  function showCurrent(c) {
    currentBox.replaceChildren();
    if (!c) return;
    const line = el("p", {id: "autocode-status"});
    line.textContent = "Coded by the model now: " + c.coded.toLocaleString() + " responses (model v" + c.model_version +
      ", target " + f2(c.target) + ", claimed micro F1 " + f2(c.claimed_f1) + ").";
    currentBox.append(line);
    const undo = el("button", {type: "button", id: "autocode-undo"}, "Undo the model's codes");
    undo.addEventListener("click", function () {
      if (!window.confirm("Remove every code the model made? People's codes stay.")) return;
      http.request(api, {method: "DELETE"}).then(http.json).then(function () {
        currentBox.replaceChildren(); preview();
      }).catch(fail);
    });
    currentBox.append(undo);
    if (!c.qc) {
      const form = el("p", {"class": "inline-form"});
      const label = el("label", {"for": "autocode-check-size"}, "Blind check of");
      const size = el("input", {id: "autocode-check-size", type: "number", min: "1", max: "2000", value: "100"});
      const draw = el("button", {type: "button", id: "autocode-check"}, "Draw the blind check");
      draw.addEventListener("click", function () {
        http.postJSON(api + "check/", {size: Number(size.value)}).then(http.json).then(function (body) {
          showCurrent(body.current);
        }).catch(fail);
      });
      form.append(label, size, el("span", {}, " responses "), draw);
      currentBox.append(form);
    } else {
      const qc = c.qc;
      const p = el("p", {id: "autocode-check-figures"});
      p.textContent = "Blind check: " + qc.checked + " of " + qc.size + " coded by people" +
        (qc.micro_f1 !== undefined ? "; measured micro F1 " + f2(qc.micro_f1) + " (" + range(qc.micro_f1_interval) +
         ") against the claimed " + f2(qc.claimed_f1) : "") + ". Figures on the Agreement page.";
      currentBox.append(p);
    }
  }

  function preview() {
    errorBox.textContent = "";
    http.request(api + "?target=" + encodeURIComponent(target.value)).then(http.json).then(function (body) {
      showPreview(body.preview); showCurrent(body.current);
    }).catch(fail);
  }
  document.getElementById("autocode-preview-button").addEventListener("click", preview);
  preview();
  // A new version decides again (the server re-decides on promotion): the preview and the counts follow it.
  if (window.ThemeLoopLive) window.ThemeLoopLive.onNewModel(function (model) { if (model) preview(); });
})();
