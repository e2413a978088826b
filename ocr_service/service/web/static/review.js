// Group verification, keyboard only. Keys (also listed on the page):
//   Enter: accept the value shown (typed corrections included) and go to the next row
//   typing: replaces the value (the whole value is selected when a row gets focus); for a field with
//           a list (vocabulary, administrative units) suggestions appear (suggest.js, as in sheet mode):
//           ↓ / ↑ choose one, Enter takes it and accepts the row, Tab takes it (none chosen: the
//           first) and stays in the row to go on with another part, Esc closes the list; an address
//           or a name is completed where the caret is (a comma-separated part, a word)
//   Ctrl+Enter: accept this row and the undecided rows right below it that are wholly on screen,
//               each as shown (a reviewer who has looked them over confirms them at once)
//   Tab / ArrowDown / ArrowUp: move between rows (when no suggestion list is open)
//   F2: next candidate value; F3: the value accepted in the row above (a household's sheets repeat
//       their commune, address, head and officer); F4: unreadable; F8: postpone (back to the queue);
//       F9: the whole sheet
// Each decision carries the number of keys pressed in its row (``keys``), for the statistics.
// Each decision is an htmx POST (CSRF header from <body hx-headers>); the server returns the row.
(function () {
  "use strict";
  var RENEW_MS = 120000;
  var lastActivity = Date.now(), lastRenew = Date.now();

  function pending() { return Array.prototype.slice.call(document.querySelectorAll('form.row[data-state="pending"]')); }
  function allRows() { return Array.prototype.slice.call(document.querySelectorAll("form.row")); }
  function inputOf(form) { return form ? form.querySelector("input.value") : null; }
  function screenBottom() { return window.innerHeight || document.documentElement.clientHeight; }
  function focusRow(form) {
    var input = inputOf(form);
    if (!input) { return; }
    input.focus({ preventScroll: true });
    input.select();
    // a row below the screen starts the next screen (the rows to look over, and confirm with
    // Ctrl+Enter, under it); one above comes back into view as little as it takes
    var below = form.getBoundingClientRect().bottom > screenBottom();
    form.scrollIntoView({ block: below ? "start" : "nearest" });
  }
  function move(form, step) {
    var rows = pending(), i = rows.indexOf(form);
    var target = rows[i + step];
    if (target) { focusRow(target); }
  }
  function nextAfter(index) {
    var rows = allRows();
    for (var j = index + 1; j < rows.length; j++) { if (rows[j].dataset.state === "pending") { return rows[j]; } }
    return pending()[0] || null;
  }
  function submit(form, action) {
    if (form.dataset.state !== "pending") { return; }
    var index = allRows().indexOf(form);
    window.Suggest.close();  // (the list lives in the row until then; the server's answer replaces the row)
    form.querySelector('input[name="action"]').value = action;
    var keys = form.querySelector('input[name="keys"]');
    if (keys) { keys.value = String(form.keyCount || 0); }
    form.requestSubmit();
    // Move on at once (the reviewer may already be typing the next row); the row shows "saving"
    // until the server's answer replaces it.
    form.dataset.state = "saving";
    form.classList.add("state-saving");
    var next = nextAfter(index);
    if (next) { focusRow(next); }
  }

  // The undecided rows after ``form``, down to the first not wholly on screen: only what the
  // reviewer can see is confirmed in one go.
  function shownBelow(form) {
    var rows = pending(), out = [], bottom = screenBottom();
    for (var j = rows.indexOf(form) + 1; j < rows.length; j++) {
      var r = rows[j].getBoundingClientRect();
      if (r.top < 0 || r.bottom > bottom) { break; }
      out.push(rows[j]);
    }
    return out;
  }
  function acceptShown(form) {
    var rest = shownBelow(form);  // before the focus moves (and scrolls)
    submit(form, "accept");
    rest.forEach(function (row) { submit(row, "accept"); });
  }

  // The value accepted in the nearest row above ``form`` (being saved, or saved), or null: rows
  // postponed, rejected as unreadable, refused, or still undecided do not count.
  function above(form) {
    var rows = allRows();
    for (var j = rows.indexOf(form) - 1; j >= 0; j--) {
      var row = rows[j];
      if (row.dataset.state === "saving" && row.querySelector('input[name="action"]').value === "accept") {
        return inputOf(row).value;
      }
      var done = row.dataset.state === "decided" ? row.querySelector(".done.verified .shown") : null;
      if (done) { return done.textContent; }
    }
    return null;
  }
  function ditto(input) {
    var value = above(input.form);
    if (value !== null) { window.Candidates.show(input, value); }  // as F2: the suggestions follow
  }

  function say(text) {
    var status = document.getElementById("status");
    if (status) { status.textContent = text; status.hidden = !text; }
  }
  // The next group is claimed by a POST (the hidden claim form carries the CSRF token).
  function nextGroup() { var claim = document.getElementById("claim"); if (claim) { claim.submit(); } }

  document.addEventListener("keydown", function (e) {
    lastActivity = Date.now();
    var input = e.target;
    if (!input || !input.classList || !input.classList.contains("value")) {
      // nothing left to decide on this page (e.g. a refused save): Enter loads the next group
      if (e.key === "Enter" && !pending().length && document.querySelector("form.row")) { e.preventDefault(); nextGroup(); }
      return;
    }
    var form = input.form;
    // Keystrokes per decision (operator statistics): every key pressed in this row, the deciding
    // key included, auto-repeat not.
    if (!e.repeat) { form.keyCount = (form.keyCount || 0) + 1; }
    if (window.Suggest.navigate(e, input)) { return; }  // the list is open: ↓ / ↑ / Esc are its keys
    switch (e.key) {
      case "Enter":
        e.preventDefault();
        window.Suggest.take(input);
        if (e.ctrlKey) { acceptShown(form); } else { submit(form, "accept"); }
        break;
      case "ArrowDown": e.preventDefault(); move(form, 1); break;
      case "ArrowUp": e.preventDefault(); move(form, -1); break;
      case "F2": e.preventDefault(); window.Candidates.next(input); break;
      case "F3": e.preventDefault(); ditto(input); break;  // (Chromium's find-next gives way to the page)
      case "F4": e.preventDefault(); submit(form, "unreadable"); break;
      case "F8": e.preventDefault(); submit(form, "postpone"); break;
      case "F9": e.preventDefault(); window.location.assign(form.dataset.sheetUrl); break;
      default: break;
    }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target.classList && e.target.classList.contains("value")) {
      if (!window.Suggest.isOpen(e.target)) { window.Suggest.close(); }
      e.target.select();
    }
  });
  document.addEventListener("input", function (e) {  // typed, or Telex, or F2: the suggestions follow
    var input = e.target, form = input && input.form;
    if (!form || !input.classList.contains("value") || form.dataset.state !== "pending") { return; }
    if (form.dataset.suggest === "1") { window.Suggest.typed(input, form.dataset.field, form.querySelector(".val")); }
  });
  var swappedIndex = -1;
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    swappedIndex = allRows().indexOf(e.detail.elt);
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (document.querySelector('form.row[data-state="saving"]')) { return; }
    if (!pending().length) {
      if (document.querySelector('form.row[data-state="conflict"]')) {
        say("Có dòng không lưu được (xem thông báo ở dòng đó). Nhấn Enter để tải nhóm tiếp theo.");
      } else {
        nextGroup();
      }
      return;
    }
    var active = document.activeElement;
    if (!active || !active.classList || !active.classList.contains("value") || active.form.dataset.state !== "pending") {
      focusRow(nextAfter(swappedIndex));
    }
  });
  function restore(e) {  // the request failed (network, server error): the row can be decided again
    var form = e.detail.elt;
    if (form && form.dataset && form.dataset.state === "saving") {
      form.dataset.state = "pending";
      form.classList.remove("state-saving");
      var status = e.detail.xhr ? e.detail.xhr.status : 0;
      say(status ? "Không lưu được dòng này (lỗi " + status + "): hãy thử lại hoặc tải lại trang."
                 : "Mất kết nối tới máy chủ: dòng chưa được lưu, hãy thử lại.");
      focusRow(form);
    }
  }
  document.body.addEventListener("htmx:responseError", restore);
  document.body.addEventListener("htmx:sendError", restore);
  // Keep the lease while the reviewer works.
  setInterval(function () {
    if (lastActivity > lastRenew) {
      lastRenew = Date.now();
      fetch("/review/lease", { method: "POST", headers: { "X-CSRF-Token": document.body.dataset.csrf }, credentials: "same-origin" });
    }
  }, RENEW_MS);
  // what Ctrl+Enter would confirm with the focused row, and what F3 would bring, for a scripted
  // reviewer (bench/bench_review.py)
  window.GroupReview = { shownBelow: shownBelow, above: above };
  document.addEventListener("DOMContentLoaded", function () { focusRow(pending()[0]); });
  if (document.readyState !== "loading") { focusRow(pending()[0]); }
})();
