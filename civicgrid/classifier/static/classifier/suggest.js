// A click on a suggested category fills the form's category the way the category search does.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-suggested-category]");
    if (!button) return;
    var form = button.closest("form") || document;
    var picker = form.querySelector("[data-category-picker]");
    if (!picker) return;
    picker.querySelector("input[type=hidden]").value = button.dataset.suggestedCategory;
    var chosen = picker.querySelector("[data-category-chosen]");
    chosen.querySelector("strong").textContent = button.dataset.label;
    chosen.hidden = false;
  });
})();
