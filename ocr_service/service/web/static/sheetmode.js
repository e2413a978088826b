// Sheet mode, keyboard only. Keys (also listed on the page):
//   Enter: save the field (a highlighted suggestion first), go to the next; a value the checks
//          refuse is not saved at first: its messages show, and Enter again saves it anyway
//   ↓ / ↑: choose a suggestion when the list is open, else move between fields
//   Tab: with the list open, take the highlighted suggestion (or the first) and stay in the field to
//        go on with another part of it (suggest.js); else the next field, as Shift+Tab the previous
//   F2: next candidate; F4: unreadable; F8: postpone; F9: the sheet's history
//   Esc: close the suggestions, else give the field back the value it had
// When every field is decided the next sheet is claimed (a POST with the CSRF token).
(function () {
  "use strict";
  var RENEW_MS = 120000, CHECK_MS = 250;
  var lastActivity = Date.now(), lastRenew = Date.now();
  var root = document.getElementById("sheetmode");
  if (!root) { return; }
  var sheet = root.dataset.sheet;
  var csrf = document.body.dataset.csrf;
  var checkSeq = 0;
  var timers = {};

  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".frow")); }
  function pending() { return rows().filter(function (r) { return r.dataset.state === "pending" || r.dataset.state === "invalid"; }); }
  function rowOf(el) { return el && el.closest ? el.closest(".frow") : null; }
  function inputOf(row) { return row ? row.querySelector("input.value") : null; }
  function say(text) {
    var status = document.getElementById("status");
    if (status) { status.textContent = text || ""; status.hidden = !text; }
  }

  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } });
  }

  // -- the page image: outline and zoom of the current field --------------------------------------
  function show(row) {
    var box = JSON.parse(row.dataset.box || "[0,0,0,0]");
    var outline = document.getElementById("outline"), pane = document.getElementById("pagepane");
    outline.style.left = box[0] + "%";
    outline.style.top = box[1] + "%";
    outline.style.width = box[2] + "%";
    outline.style.height = box[3] + "%";
    outline.hidden = false;
    var img = document.getElementById("pageimg");
    var y = img.clientHeight * box[1] / 100;
    pane.scrollTop = Math.max(0, y - pane.clientHeight / 3);
    var zoom = document.getElementById("zoom");
    var src = "/review/fields/" + row.dataset.field + "/image";
    if (zoom.getAttribute("src") !== src) { zoom.setAttribute("src", src); }
  }
  document.getElementById("pageimg").addEventListener("load", function () {
    var a = rowOf(document.activeElement);
    if (a) { show(a); }
  });

  function focusRow(row) {
    var input = inputOf(row);
    if (!input) { return; }
    input.focus();
    input.select();
    row.scrollIntoView({ block: "nearest" });
  }
  function move(row, step) {
    var all = pending(), i = all.indexOf(row);
    var target = all[i + step];
    if (target) { focusRow(target); }
  }
  function nextAfter(row) {
    var all = rows(), i = all.indexOf(row);
    for (var j = i + 1; j < all.length; j++) { if (pending().indexOf(all[j]) >= 0) { return all[j]; } }
    return pending()[0] || null;
  }

  // -- messages ------------------------------------------------------------------------------------
  function setMessages(row, messages) {
    var ul = row.querySelector("ul.msgs");
    ul.textContent = "";
    (messages || []).forEach(function (m) {
      var li = document.createElement("li");
      li.className = "msg" + (m.soft ? " soft" : "");
      li.textContent = m.text;  // text, never HTML
      ul.appendChild(li);
    });
  }
  function setAllMessages(fields) {
    if (!fields) { return; }
    rows().forEach(function (r) {
      if (Object.prototype.hasOwnProperty.call(fields, r.dataset.field)) { setMessages(r, fields[r.dataset.field]); }
    });
  }
  function check(row) {
    var seq = ++checkSeq, input = inputOf(row);
    post("/review/sheet/" + sheet + "/check", { field: row.dataset.field, value: input.value })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) { if (data && seq === checkSeq) { setAllMessages(data.fields); } })
      .catch(function () { /* the save checks again */ });
  }

  function later(name, fn, ms) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, ms);
  }

  // -- decisions -----------------------------------------------------------------------------------
  function finish(row, state, mark) {
    row.dataset.state = state;
    row.className = "frow state-" + state;
    row.querySelector(".mark").textContent = mark || "";
    var input = inputOf(row);
    input.readOnly = true;
    input.tabIndex = -1;
  }
  function after(row) {
    var next = nextAfter(row);
    if (next) { focusRow(next); return; }
    if (document.querySelector('.frow[data-state="conflict"]')) {
      say("Có ô không lưu được (xem thông báo ở ô đó). Nhấn Enter để nhận phiếu tiếp theo.");
      return;
    }
    say("Đã xong phiếu này: đang nhận phiếu tiếp theo…");
    nextSheet();
  }
  function nextSheet() { document.getElementById("claim").submit(); }

  function decide(row, action) {
    var state = row.dataset.state;
    if (state !== "pending" && state !== "invalid") { return; }
    var input = inputOf(row);
    var confirm = state === "invalid" && row.dataset.refused === input.value ? "1" : "0";
    window.Suggest.close();
    row.dataset.state = "saving";
    row.classList.add("state-saving");
    post("/review/sheet/" + sheet + "/fields/" + row.dataset.field,
         { version: row.dataset.version, action: action, value: input.value, confirm: confirm })
      .then(function (res) {
        if (res.status === 409 || res.ok) { return res.json(); }
        throw new Error(String(res.status));
      })
      .then(function (data) {
        row.classList.remove("state-saving");
        if (data.state === "invalid") {
          row.dataset.state = "invalid";
          row.dataset.refused = input.value;
          row.className = "frow state-invalid";
          setMessages(row, data.messages);
          say("Giá trị chưa qua kiểm tra (xem thông báo ở ô). Nhấn Enter lần nữa để vẫn lưu, hoặc sửa lại.");
          focusRow(row);
          return;
        }
        say("");
        if (data.state === "saved") {
          row.dataset.version = data.version;
          input.value = data.status === "rejected" ? "" : data.value;
          finish(row, "decided", data.status === "rejected" ? "✗" : "✓");
          setAllMessages(data.fields);
        } else if (data.state === "postponed") {
          finish(row, "postponed", "⏸");
        } else {
          finish(row, "conflict", "!");
          setMessages(row, [{ text: data.message + " (Bạn đã nhập: " + data.typed + ")", soft: false }]);
        }
        after(row);
      })
      .catch(function (err) {
        row.dataset.state = state;
        row.classList.remove("state-saving");
        say(err && err.message ? "Không lưu được ô này (lỗi " + err.message + "): hãy thử lại hoặc tải lại trang."
                               : "Mất kết nối tới máy chủ: ô chưa được lưu, hãy thử lại.");
        focusRow(row);
      });
  }

  document.addEventListener("keydown", function (e) {
    lastActivity = Date.now();
    var input = e.target;
    var row = rowOf(input);
    if (e.key === "F9") { e.preventDefault(); window.location.assign(root.dataset.history); return; }
    if (!row || !input.classList.contains("value") || input.readOnly) {
      if (e.key === "Enter" && !pending().length) { e.preventDefault(); nextSheet(); }
      return;
    }
    if (window.Suggest.navigate(e, input)) { return; }  // the list is open: ↓ / ↑ / Esc are its keys
    switch (e.key) {
      case "Enter":
        e.preventDefault();
        window.Suggest.take(input);
        decide(row, "accept");
        break;
      case "ArrowDown": e.preventDefault(); move(row, 1); break;
      case "ArrowUp": e.preventDefault(); move(row, -1); break;
      case "Escape":
        e.preventDefault();
        input.value = input.dataset.original; input.select(); check(row);
        break;
      case "F2": e.preventDefault(); window.Candidates.next(input); break;
      case "F4": e.preventDefault(); decide(row, "unreadable"); break;
      case "F8": e.preventDefault(); decide(row, "postpone"); break;
      default: break;
    }
  });
  document.addEventListener("input", function (e) {
    var row = rowOf(e.target);
    if (!row || !e.target.classList.contains("value")) { return; }
    if (row.dataset.state === "invalid" && row.dataset.refused !== e.target.value) {
      row.dataset.state = "pending";
      row.className = "frow state-pending";
    }
    if (row.dataset.suggest === "1") { window.Suggest.typed(e.target, row.dataset.field, row.querySelector(".inputwrap")); }
    later("check", function () { check(row); }, CHECK_MS);
  });
  document.addEventListener("suggest:taken", function (e) {  // Tab took a suggestion: check the new value
    var row = rowOf(e.target);
    if (row) { later("check", function () { check(row); }, CHECK_MS); }
  });
  document.addEventListener("focusin", function (e) {
    var row = rowOf(e.target);
    if (row && e.target.classList.contains("value")) {
      if (!window.Suggest.isOpen(e.target)) { window.Suggest.close(); }
      show(row);
      e.target.select();
    }
  });
  // Keep the lease while the reviewer works.
  setInterval(function () {
    if (lastActivity > lastRenew) {
      lastRenew = Date.now();
      fetch("/review/lease", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    }
  }, RENEW_MS);
  function start() {
    var first = pending()[0];
    if (first) { focusRow(first); } else { say("Phiếu này không có ô nào bạn đang giữ. Nhấn Enter để nhận phiếu tiếp theo."); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
