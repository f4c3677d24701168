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

  // Booking form, issue 12 (the slot picker, appointments/_slots.html): a free time fills
  // the time field and is marked; a "next day with free times" fills the date, and the
  // date's change fetches that day's times. Typing a time marks the slot it matches.
  function markSlot(clock) {
    document.querySelectorAll("[data-fill-time]").forEach(function (slot) {
      slot.setAttribute("aria-pressed", slot.getAttribute("data-fill-time") === clock ? "true" : "false");
    });
  }
  document.addEventListener("click", function (event) {
    var slot = event.target.closest("[data-fill-time], [data-fill-date]");
    if (!slot) { return; }
    var time = slot.getAttribute("data-fill-time");
    var field = document.getElementById(time ? "f-time" : "f-date");
    if (!field) { return; }
    field.value = time || slot.getAttribute("data-fill-date");
    if (time) { markSlot(time); } else { field.dispatchEvent(new Event("change", { bubbles: true })); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "f-time") { markSlot(event.target.value); }
  });
})();
