/* CivicGrid: the few behaviours the pages need beyond htmx. */
(function () {
  "use strict";

  // Collapsible navigation on narrow screens.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Area tree: a node's children are fetched once by htmx, then only shown or hidden.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-tree-toggle]");
    if (!toggle) return;
    var list = document.getElementById(toggle.getAttribute("aria-controls"));
    var expanded = toggle.getAttribute("aria-expanded") === "true";
    if (expanded) {
      list.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "+";
    } else {
      list.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "−";
      if (!list.dataset.loaded) {
        list.dataset.loaded = "1";
        // htmx.ajax rather than a triggered event: an event would bubble up to the
        // ancestors' lists and make them reload (and collapse) too.
        htmx.ajax("GET", list.dataset.childrenUrl, { target: list, swap: "innerHTML" });
      }
    }
  });

  // htmx leaves the page as it was when a request fails (403, 500, lost connection):
  // say so next to the part that was to change.
  function requestFailed(event) {
    var target = event.detail.target || document.getElementById("main");
    var first = target.firstElementChild;
    if (first && first.classList.contains("request-failed")) return; // a poll keeps failing
    var notice = document.createElement("p");
    notice.className = "notice error request-failed";
    notice.setAttribute("role", "alert");
    notice.textContent = document.body.dataset.requestFailed;
    target.insertAdjacentElement("afterbegin", notice);
  }
  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);

  // The language switch submits itself when a language is chosen.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });
})();
