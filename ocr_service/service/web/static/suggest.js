// Vocabulary suggestions as the reviewer types, for both review modes (group and sheet): one list
// (the page's <ul id="suggest">) shown under the input being typed in, filled from
// GET /review/suggest?field=ID&q=TEXT&at=CARET, built with textContent (never HTML). The server
// completes the part where the caret is (an address: the comma-separated part; a name: the word),
// so any part can be completed, not only the last. One copy, loaded before review.js and
// sheetmode.js, which call it:
//   Suggest.typed(input, fieldId, anchor)  after typing: ask for suggestions (debounced), show them in anchor
//   Suggest.navigate(e, input)             when the list is open for input: ↓ / ↑ choose, Esc closes,
//                                          Tab takes the highlighted suggestion (none highlighted: the
//                                          first) and stays in the input, the caret after the completed
//                                          part (and after the separator it adds: a space after a
//                                          surname, a comma after a unit below the province, whose
//                                          next part's list then opens), to go on with another part,
//                                          and fires "suggest:taken"
//                                          (true: the key was used; otherwise the page's own keys apply)
//   Suggest.take(input)                    Enter: put the highlighted suggestion into input (true if one
//                                          was); the page then confirms the row, as with the list closed
//   Suggest.close()
// The list says which query it shows (data-q, data-at) and which value is highlighted (data-chosen),
// so a script can tell a stale list from the answer to what was typed.
(function () {
  "use strict";
  var DEBOUNCE_MS = 60;
  var list = null, home = null, items = [], chosen = -1, owner = null, seq = 0, timer = null, asked = null;

  function theList() {
    if (!list) {
      list = document.getElementById("suggest");
      home = list ? list.parentNode : null;
    }
    return list;
  }
  function close() {
    var ul = theList();
    clearTimeout(timer);
    seq++;  // an answer still on its way is for a list no longer wanted
    if (owner) { owner.removeAttribute("aria-activedescendant"); owner.setAttribute("aria-expanded", "false"); }
    items = [];
    chosen = -1;
    owner = null;
    if (!ul) { return; }
    ul.hidden = true;
    ul.textContent = "";
    delete ul.dataset.q;
    delete ul.dataset.at;
    delete ul.dataset.chosen;
    // back where the page had it: the row the list was shown in may be replaced (group mode's swap)
    if (home && ul.parentNode !== home) { home.appendChild(ul); }
  }
  function isOpen(input) { return !!(list && !list.hidden && owner === input && items.length); }
  function highlight(i) {
    chosen = i;
    Array.prototype.forEach.call(list.children, function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
    if (list.children[i]) {
      list.children[i].scrollIntoView({ block: "nearest" });
      owner.setAttribute("aria-activedescendant", list.children[i].id);
      list.dataset.chosen = items[i].value;
    } else {
      owner.removeAttribute("aria-activedescendant");
      delete list.dataset.chosen;
    }
  }
  function show(input, q, at, got, anchor) {
    var ul = theList();
    if (!ul || !got.length) { close(); return; }
    ul.textContent = "";
    items = got;
    chosen = -1;
    got.forEach(function (it, j) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.id = "sugg-" + j;
      var label = document.createElement("span");
      label.className = "label";
      label.textContent = it.label;  // text, never HTML
      li.appendChild(label);
      if (it.hint) {
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = it.hint;
        li.appendChild(hint);
      }
      ul.appendChild(li);
    });
    anchor.appendChild(ul);
    ul.hidden = false;
    ul.dataset.q = q;
    ul.dataset.at = String(at);
    delete ul.dataset.chosen;
    owner = input;
    input.setAttribute("aria-expanded", "true");
  }
  function typed(input, fieldId, anchor) {
    clearTimeout(timer);
    asked = { fieldId: fieldId, anchor: anchor };
    timer = setTimeout(function () {
      var q = input.value, mine = ++seq;
      var at = input.selectionStart === null ? q.length : input.selectionStart;
      if (!q.trim()) { close(); return; }
      fetch("/review/suggest?field=" + encodeURIComponent(fieldId) + "&q=" + encodeURIComponent(q) + "&at=" + at,
            { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (res) { return res.ok ? res.json() : { items: [] }; })
        .then(function (data) {
          // still the text and the caret it answers (else a newer question is on its way, or none is wanted)
          if (mine === seq && document.activeElement === input && input.value === q && input.selectionStart === at) {
            show(input, q, at, data.items || [], anchor);
          }
        })
        .catch(function () { if (mine === seq) { close(); } });
    }, DEBOUNCE_MS);
  }
  function navigate(e, input) {
    if (!isOpen(input)) { return false; }
    switch (e.key) {
      case "ArrowDown": e.preventDefault(); highlight(Math.min(items.length - 1, chosen + 1)); return true;
      case "ArrowUp": e.preventDefault(); highlight(Math.max(-1, chosen - 1)); return true;
      case "Escape": e.preventDefault(); close(); return true;
      case "Tab":
        if (e.shiftKey || e.ctrlKey || e.altKey) { return false; }
        e.preventDefault();
        if (chosen < 0) { highlight(0); }
        take(input);
        // the value changed without typing: a page that checks as you type checks it (sheet mode)
        input.dispatchEvent(new CustomEvent("suggest:taken", { bubbles: true }));
        // a unit taken with the comma of the part after it: that part's list (its district and
        // province) at once, nothing typed
        if (asked && /,\s$/.test(input.value.slice(0, input.selectionStart))) { typed(input, asked.fieldId, asked.anchor); }
        return true;
      default: return false;
    }
  }
  function take(input) {
    var it = isOpen(input) && chosen >= 0 ? items[chosen] : null;
    var got = it ? it.value : null;
    if (got !== null) {
      input.value = got;
      var caret = typeof it.caret === "number" ? it.caret : got.length;
      input.setSelectionRange(caret, caret);
    }
    if (owner === input) { close(); }
    return got !== null;
  }
  window.Suggest = { typed: typed, navigate: navigate, take: take, close: close, isOpen: isOpen };
})();
