// A click on a suggested category fills the form's category the way the category search does.
// A category that has sub-categories cannot be given to a case: its name goes into the
// category search instead (the search matches code prefixes, leaves first), which lists the
// categories under it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-suggested-category]");
    if (!button) return;
    var form = button.closest("form") || document;
    var picker = form.querySelector("[data-category-picker]");
    if (!picker) return;
    if (button.dataset.leaf !== "1") {
      var search = picker.querySelector("[data-category-search]");
      search.value = button.dataset.code;
      search.dispatchEvent(new Event("search", { bubbles: true }));
      search.focus();
      return;
    }
    picker.querySelector("input[type=hidden]").value = button.dataset.suggestedCategory;
    var chosen = picker.querySelector("[data-category-chosen]");
    chosen.querySelector("strong").textContent = button.dataset.label;
    chosen.hidden = false;
  });
})();
