// The look before every bulk write (suggestion bands, the map's selection, more like this): the responses about
// to be written, 50 a page, each ticked with a box to untick; unticks are kept by id, so they survive paging.
// The confirm button says how many will be written and with which theme; onConfirm gets exactly the ticked ids
// (in the order shown), and the server writes only those. Texts are set as text, never as HTML.
(function () {
  "use strict";
  const PAGE = 50;
  let dialog = null;
  let state = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function build() {
    dialog = el("dialog", {id: "bulk-review", class: "bulk-review", "aria-labelledby": "br-title"});
    const head = el("header", {class: "br-head"});
    head.append(el("h2", {id: "br-title"}), el("p", {id: "br-help", class: "muted small"}));
    const tools = el("div", {class: "br-tools small"});
    const all = el("button", {type: "button", id: "br-page-tick"}, "Tick this page");
    const none = el("button", {type: "button", id: "br-page-untick"}, "Untick this page");
    tools.append(all, none, el("span", {id: "br-summary", class: "muted"}));
    const list = el("ul", {id: "br-list", class: "br-list"});
    const pager = el("nav", {class: "br-pager small", "aria-label": "Pages"});
    const prev = el("button", {type: "button", id: "br-prev"}, "← Previous");
    const next = el("button", {type: "button", id: "br-next"}, "Next →");
    pager.append(prev, el("span", {id: "br-page", "aria-live": "polite"}), next);
    const foot = el("footer", {class: "br-actions"});
    const cancel = el("button", {type: "button", id: "br-cancel"}, "Cancel");
    const confirm = el("button", {type: "button", id: "br-confirm", class: "primary"});
    foot.append(el("p", {id: "br-status", class: "status-line", role: "status"}), cancel, confirm);
    dialog.append(head, tools, list, pager, foot);
    document.body.append(dialog);

    list.addEventListener("change", function (e) {
      const box = e.target;
      if (!state || box.name !== "br-response") return;
      const id = Number(box.value);
      if (box.checked) state.unticked.delete(id); else state.unticked.add(id);
      update();
    });
    all.addEventListener("click", function () { setPage(true); });
    none.addEventListener("click", function () { setPage(false); });
    prev.addEventListener("click", function () { if (state.page > 0) { state.page--; render(); } });
    next.addEventListener("click", function () { if (state.page < pages() - 1) { state.page++; render(); } });
    cancel.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { state = null; });
    confirm.addEventListener("click", function () {
      const ids = ticked();
      if (!ids.length || state.busy) return;
      state.busy = true;
      update();
      $("br-status").textContent = "Saving…";
      const opts = state.opts;
      Promise.resolve(opts.onConfirm(ids)).then(function () {
        if (dialog.open) dialog.close();
      }).catch(function (err) {
        if (!state) return;
        state.busy = false;
        $("br-status").textContent = "Failed: " + (err && err.message ? err.message : err);
        $("br-status").className = "status-line error";
        update();
      });
    });
  }

  function $(id) { return document.getElementById(id); }
  function pages() { return Math.max(1, Math.ceil(state.items.length / PAGE)); }
  function ticked() {
    return state.items.filter(function (it) { return !state.unticked.has(it.id); })
      .map(function (it) { return it.id; });
  }
  function plural(n) { return n + (n === 1 ? " response" : " responses"); }

  function setPage(on) {
    state.items.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (it) {
      if (on) state.unticked.delete(it.id); else state.unticked.add(it.id);
    });
    render();
  }

  function confirmLabel(n) {
    const theme = "“" + state.opts.themeName + "”";
    return state.opts.verb === "reject" ? "Reject " + theme + " for " + plural(n) : "Label " + plural(n) + " with " + theme;
  }

  function update() {
    const n = ticked().length;
    const button = $("br-confirm");
    button.textContent = confirmLabel(n);
    button.disabled = n === 0 || state.busy;
    const off = state.items.length - n;
    $("br-summary").textContent = n + " of " + state.items.length + " ticked" + (off ? " · " + off + " unticked" : "");
  }

  function render() {
    const list = $("br-list");
    list.replaceChildren();
    const start = state.page * PAGE;
    state.items.slice(start, start + PAGE).forEach(function (it) {
      const li = el("li", {"data-response": String(it.id)});
      const label = el("label");
      const box = el("input", {type: "checkbox", name: "br-response", value: String(it.id)});
      box.checked = !state.unticked.has(it.id);
      label.append(box, el("span", {class: "br-text"}, it.text));
      if (it.detail) label.append(el("span", {class: "br-detail muted"}, it.detail));
      li.append(label);
      list.append(li);
    });
    const end = Math.min(start + PAGE, state.items.length);
    $("br-page").textContent = "Page " + (state.page + 1) + " of " + pages() + " · " + (start + 1) + "–" + end;
    $("br-prev").disabled = state.page === 0;
    $("br-next").disabled = state.page >= pages() - 1;
    list.scrollTop = 0;
    update();
  }

  // opts: {items: [{id, text, detail}], themeName, verb: "label" | "reject", title, onConfirm(ids) -> Promise}
  function open(opts) {
    if (!dialog) build();
    state = {opts: opts, items: opts.items, unticked: new Set(), page: 0, busy: false};
    $("br-title").textContent = opts.title || ("Review " + plural(opts.items.length) + " before labelling");
    $("br-help").textContent = "Untick any response that does not belong: only the ticked ones are " +
      (opts.verb === "reject" ? "rejected." : "labelled.");
    $("br-status").textContent = "";
    $("br-status").className = "status-line";
    render();
    if (!dialog.open) dialog.showModal();
  }

  window.ThemeLoopBulkReview = {open: open, PAGE: PAGE};
})();
