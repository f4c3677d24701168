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

// issue 12: a counter under every text area with a maxlength ("123 / 4,000"), saying how
// many characters are left near the limit. The browser enforces maxlength without script;
// the words come from the page (data-left-one / data-left-many, "{n}" for the number).
(function () {
  "use strict";
  var NEAR = 0.9;  // from 90 % of the limit the counter says what is left

  function counterFor(area) {
    var id = area.id + "-count";
    var counter = document.getElementById(id);
    if (!counter) {
      counter = document.createElement("div");
      counter.id = id;
      counter.className = "char-count";
      area.insertAdjacentElement("afterend", counter);
    }
    return counter;
  }

  function update(area) {
    var limit = parseInt(area.getAttribute("maxlength"), 10);
    if (!limit || !area.id) { return; }
    var used = area.value.length;
    var left = Math.max(limit - used, 0);
    var counter = counterFor(area);
    var text = used.toLocaleString("en") + " / " + limit.toLocaleString("en");
    var near = used >= limit * NEAR;
    if (near) {
      var words = area.getAttribute(left === 1 ? "data-left-one" : "data-left-many") || "";
      text += " · " + words.replace("{n}", left.toLocaleString("en"));
    }
    counter.textContent = text;
    counter.classList.toggle("near", near);
    counter.classList.toggle("full", left === 0);
    // Read out only when it matters, not at every keystroke.
    if (near) { counter.setAttribute("aria-live", "polite"); } else { counter.removeAttribute("aria-live"); }
  }

  function updateAll(root) {
    var areas = (root || document).querySelectorAll("textarea[maxlength]");
    Array.prototype.forEach.call(areas, update);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[maxlength]")) { update(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () { updateAll(document); });
  document.addEventListener("htmx:load", function (event) { updateAll(event.target); });
})();

(function () {
  "use strict";
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
