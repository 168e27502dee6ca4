// Cluster members: one box ticks or unticks every member; the move form sends the ticked ones too. The make-theme
// button says how many ticked responses it will label.
(function () {
  "use strict";
  const all = document.getElementById("tick-all");
  const make = document.getElementById("make-theme");
  const boxes = function () { return document.querySelectorAll("#members input[name=response]"); };
  function count() {
    if (!make) return;
    let n = 0;
    boxes().forEach(function (b) { if (b.checked) n++; });
    make.textContent = "Make theme and label " + n + (n === 1 ? " ticked response" : " ticked responses");
    make.disabled = n === 0;
  }
  if (all) all.addEventListener("change", function () { boxes().forEach(function (b) { b.checked = all.checked; }); count(); });
  const members = document.getElementById("members");
  if (members) members.addEventListener("change", count);
  count();
  const move = document.getElementById("move-form");
  if (move) move.addEventListener("submit", function () {
    move.querySelectorAll("input[name=response]").forEach(function (i) { i.remove(); });
    boxes().forEach(function (b) {
      if (!b.checked) return;
      const i = document.createElement("input"); i.type = "hidden"; i.name = "response"; i.value = b.value; move.append(i);
    });
  });
})();
