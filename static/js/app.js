// Small behaviours the pages need; no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // The top bar's menu folds only when script can open it again (see app.css).
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".menu-toggle");
    if (!toggle) { return; }
    var bar = toggle.closest(".topbar");
    var open = bar.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // "/" focuses the patient search from anywhere, as in most staff tools.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
      target.tagName === "SELECT" || target.isContentEditable);
    if (event.key === "/" && !typing) {
      var box = document.getElementById("top-search");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    }
    if (event.key === "Escape") {
      var list = document.getElementById("top-suggest");
      if (list) { list.innerHTML = ""; }
    }
  });

  // Arrow-down from the search box moves into the drop-down list.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
    var list = document.getElementById("top-suggest");
    if (!list) { return; }
    var links = Array.prototype.slice.call(list.querySelectorAll("a"));
    if (!links.length) { return; }
    var index = links.indexOf(document.activeElement);
    if (event.target.id === "top-search" && event.key === "ArrowDown") {
      event.preventDefault(); links[0].focus(); return;
    }
    if (index >= 0) {
      event.preventDefault();
      var next = event.key === "ArrowDown" ? index + 1 : index - 1;
      if (next < 0) { document.getElementById("top-search").focus(); return; }
      links[Math.min(next, links.length - 1)].focus();
    }
  });

  // Language switch submits itself when changed.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) { event.target.form.submit(); }
  });

  // Buttons that ask before doing something that cannot be undone.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Worklists (issue 12): the filters fold on phones so the first screen shows items; a
  // queue reloaded in place (htmx) keeps them as the user last left them.
  var phone = window.matchMedia("(max-width: 760px)");
  var foldedOpen = false;
  function foldFilters(root) {
    if (!phone.matches) { return; }
    root.querySelectorAll("details[data-fold-on-phone]").forEach(function (details) {
      details.open = foldedOpen;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { foldFilters(document); });
  document.addEventListener("htmx:afterSwap", function () { foldFilters(document); });
  document.addEventListener("toggle", function (event) {
    if (phone.matches && event.target.matches("details[data-fold-on-phone]")) {
      foldedOpen = event.target.open;
    }
  }, true);
})();
