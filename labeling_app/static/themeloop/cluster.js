// Cluster members: one box ticks or unticks every member; the move form sends the ticked ones too.
(function () {
  "use strict";
  const all = document.getElementById("tick-all");
  const boxes = function () { return document.querySelectorAll("#members input[name=response]"); };
  if (all) all.addEventListener("change", function () { boxes().forEach(function (b) { b.checked = all.checked; }); });
  const move = document.getElementById("move-form");
  if (move) move.addEventListener("submit", function () {
    move.querySelectorAll("input[name=response]").forEach(function (i) { i.remove(); });
    boxes().forEach(function (b) {
      if (!b.checked) return;
      const i = document.createElement("input"); i.type = "hidden"; i.name = "response"; i.value = b.value; move.append(i);
    });
  });
})();
