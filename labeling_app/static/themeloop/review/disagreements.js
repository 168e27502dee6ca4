// The Disagreements page: "Resolve" with no theme ticked asks first. No theme is a decision the model learns
// from (none applies), so it is sent only once the lead confirms it; the server refuses it otherwise.
(function () {
  "use strict";
  document.querySelectorAll("form.adjudicate").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      const noTheme = form.querySelector('input[name="no_theme"]');
      noTheme.value = "";
      const action = e.submitter ? e.submitter.value : "resolve";
      if (action !== "resolve" || form.querySelector('input[name="theme"]:checked')) return;
      const ok = window.confirm("Resolve " + (form.dataset.respondent || "this response") + " with no theme?\n\n" +
                                "No theme is ticked. The model will learn that none of the themes applies to it.");
      if (!ok) { e.preventDefault(); return; }
      noTheme.value = "1";
    });
  });
})();
