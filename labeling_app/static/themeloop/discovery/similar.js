// "More like this": tick the responses that belong (or all), then review them (bulk-review.js: paged, each can be
// unticked) before the form sends exactly the ones left ticked.
(function () {
  "use strict";
  const form = document.getElementById("similar-form");
  if (!form) return;
  const all = document.getElementById("tick-all");
  const status = document.getElementById("similar-status");
  const boxes = function () { return form.querySelectorAll("#similar input[name=response]"); };
  if (all) all.addEventListener("change", function () { boxes().forEach(function (b) { b.checked = all.checked; }); });
  let reviewed = false;
  form.addEventListener("submit", function (e) {
    if (reviewed) return;
    e.preventDefault();
    const items = [];
    boxes().forEach(function (b) {
      if (b.checked) items.push({id: Number(b.value), text: b.closest("tr").querySelector("td.text").textContent});
    });
    if (!items.length) { status.textContent = "Tick the responses to label first."; return; }
    status.textContent = "";
    const select = form.querySelector("select[name=theme]");
    window.ThemeLoopBulkReview.open({
      items: items, themeName: select.options[select.selectedIndex].text, verb: "label",
      title: "Review the " + items.length + " ticked responses before labelling",
      onConfirm: function (ids) {
        const keep = new Set(ids.map(String));
        boxes().forEach(function (b) { b.checked = keep.has(b.value); });
        reviewed = true;
        form.submit();  // the page is replaced by the answer, which says how many were labelled
        return new Promise(function () {});
      },
    });
  });
})();
