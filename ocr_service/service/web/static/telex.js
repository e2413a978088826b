// Built-in Telex input for machines without a Vietnamese input method. Alt+Z turns it on and off
// (Unikey's switch key; Chromium on Linux leaves Alt+Z to the page); the state is shown in the
// header (#telex-state) and kept in localStorage. While on, letters typed into the review inputs
// (input.value) are composed as Telex:
//   aa→â  aw→ă  ee→ê  oo→ô  ow→ơ  uw→ư  uow→ươ  dd→đ
//   s f r x j: sắc huyền hỏi ngã nặng; z removes the tone; the key again undoes (ss→s, aaa→aa, ddd→dd)
// The tone goes on the vowel the traditional ("old") style marks: hòa, thủy, người, tiếng. That is
// the placement ocr_service/vietnamese/text.py keys on (unify_tone_placement), so a value typed
// here matches the vocabularies and the engines' readings after match_key.
// window.Telex.apply(word, key) and window.Telex.convert(text) are the pure logic (tested in the
// browser test).
(function () {
  "use strict";
  var TONES = { s: "\u0301", f: "\u0300", r: "\u0309", x: "\u0303", j: "\u0323" };
  var TONE_RE = /[\u0300\u0301\u0303\u0309\u0323]/g;
  var VOWELS = "aăâeêioôơuưy";
  var MARKED = "ăâêôơư";
  var CIRCUMFLEX = { a: "â", e: "ê", o: "ô", "ă": "â", "ơ": "ô" };
  var PLAIN = { "â": "a", "ê": "e", "ô": "o" };
  var FAMILY = { a: "aăâ", e: "eê", o: "oôơ" };
  var BREVE_HORN = { a: "ă", o: "ơ", u: "ư" };
  var UNHORN = { "ă": "a", "ơ": "o", "ư": "u" };
  var STORE = "ocr.telex";

  function low(c) { return c.toLowerCase(); }
  function isVowel(c) { return !!c && VOWELS.indexOf(low(c)) >= 0; }
  function sameCase(model, c) { return model === model.toUpperCase() && model !== model.toLowerCase() ? c.toUpperCase() : c; }
  function setAt(s, i, c) { return s.slice(0, i) + sameCase(s[i], c) + s.slice(i + 1); }

  function splitTone(word) {
    var d = word.normalize("NFD");
    var marks = d.match(TONE_RE);
    return [d.replace(TONE_RE, "").normalize("NFC"), marks ? marks[marks.length - 1] : ""];
  }

  // One syllable: onset consonants ("qu" and "gi" + vowel count as onset), a vowel group, final
  // consonants. ok=false when a vowel follows the final consonants (not one syllable).
  function syllable(base) {
    var i = 0, n = base.length;
    while (i < n && !isVowel(base[i])) { i++; }
    var onset = low(base.slice(0, i));
    if (onset === "q" && low(base[i] || "") === "u") { i++; }
    if (onset === "g" && low(base[i] || "") === "i" && isVowel(base[i + 1])) { i++; }
    var start = i;
    while (i < n && isVowel(base[i])) { i++; }
    var end = i;
    var rest = base.slice(end);
    var ok = start < end;
    for (var j = 0; j < rest.length; j++) { if (isVowel(rest[j])) { ok = false; } }
    return { ok: ok, start: start, end: end, final: rest };
  }

  function tonePos(base, syl) {
    var group = low(base.slice(syl.start, syl.end));
    var marked = -1;
    for (var j = 0; j < group.length; j++) { if (MARKED.indexOf(group[j]) >= 0) { marked = j; } }
    if (marked >= 0) { return syl.start + marked; }  // ê ô ơ â ă ư carry the tone (ươ: on ơ)
    if (syl.final.length) { return syl.end - 1; }     // closed syllable: the last vowel (hoàn, tiến)
    if (group.length >= 3) { return syl.start + 1; }  // ngoài, khuỷu
    return syl.start;                                 // open: the first (hòa, thủy, mía, múa)
  }

  function placeTone(base, tone) {
    if (!tone) { return base; }
    var syl = syllable(base);
    if (!syl.ok) { return null; }
    var p = tonePos(base, syl);
    return (base.slice(0, p + 1) + tone + base.slice(p + 1)).normalize("NFC");
  }

  function lastOf(base, syl, letters) {
    for (var j = syl.end - 1; j >= syl.start; j--) { if (letters.indexOf(low(base[j])) >= 0) { return j; } }
    return -1;
  }

  // The word after typing ``key`` at its end, or null when Telex changes nothing (type it as is).
  function apply(word, key) {
    var k = low(key);
    var parts = splitTone(word), base = parts[0], tone = parts[1];
    var syl = syllable(base);
    var out = null;
    if (TONES[k] || k === "z") {
      if (!syl.ok) { return null; }
      if (k === "z") { return tone ? base : null; }
      if (tone === TONES[k]) { return base + key; }  // the same tone again: undo, keep the letter
      return placeTone(base, TONES[k]);
    }
    if (k === "d") {
      if (low(base[0] || "") === "d" && word.length >= 1) { out = setAt(base, 0, "đ"); }
      else if (low(base[0] || "") === "đ") { return placeTone(setAt(base, 0, "d"), tone) + key; }
      return out === null ? null : placeTone(out, tone);
    }
    if (FAMILY[k] && syl.ok) {
      var j = lastOf(base, syl, FAMILY[k]);
      if (j < 0) { return null; }
      var c = low(base[j]);
      if (PLAIN[c]) { return placeTone(setAt(base, j, PLAIN[c]), tone) + key; }  // aaa → aa
      return placeTone(setAt(base, j, CIRCUMFLEX[c]), tone);
    }
    if (k === "w" && syl.ok) {
      var g = low(base.slice(syl.start, syl.end));
      var uo = g.indexOf("uo");
      if (uo >= 0) {
        var at = syl.start + uo;
        return placeTone(setAt(setAt(base, at, "ư"), at + 1, "ơ"), tone);
      }
      var uoHorn = g.indexOf("ươ");
      if (uoHorn >= 0) {
        var at2 = syl.start + uoHorn;
        return placeTone(setAt(setAt(base, at2, "u"), at2 + 1, "o"), tone) + key;
      }
      var m = lastOf(base, syl, "ăơư");
      var p = lastOf(base, syl, "aou");
      if (m > p) { return placeTone(setAt(base, m, UNHORN[low(base[m])]), tone) + key; }  // aww → aw
      if (p >= 0) { return placeTone(setAt(base, p, BREVE_HORN[low(base[p])]), tone); }
      return null;
    }
    if (tone && /\p{L}/u.test(key)) {  // a plain letter: the tone may move (hoás → hoá + n → hoán)
      var moved = placeTone(base + key, tone);
      if (moved !== null && moved !== (word + key).normalize("NFC")) { return moved; }
    }
    return null;
  }

  var WORD_END = /[\p{L}\p{M}]+$/u;

  // The text as typed key by key with Telex on.
  function convert(text) {
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      var m = /\p{L}/u.test(ch) ? out.match(WORD_END) : null;
      var word = m ? m[0] : "";
      var r = /\p{L}/u.test(ch) ? apply(word, ch) : null;
      out = r === null ? out + ch : out.slice(0, out.length - word.length) + r;
    }
    return out;
  }

  var state = { on: false };
  function show() {
    var el = document.getElementById("telex-state");
    if (el) {
      el.textContent = state.on ? "Telex: BẬT (Alt+Z)" : "Telex: tắt (Alt+Z)";
      el.classList.toggle("on", state.on);
      el.classList.toggle("off", !state.on);
    }
  }
  function toggle() {
    state.on = !state.on;
    try { window.localStorage.setItem(STORE, state.on ? "1" : "0"); } catch (e) { /* private mode */ }
    show();
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.code === "KeyZ" || low(e.key) === "z")) {
      e.preventDefault();
      toggle();
      return;
    }
    if (!state.on || e.ctrlKey || e.altKey || e.metaKey || e.isComposing) { return; }
    var input = e.target;
    if (!input || !input.classList || !input.classList.contains("value") || input.readOnly) { return; }
    if (e.key.length !== 1 || !/\p{L}/u.test(e.key)) { return; }
    var caret = input.selectionStart, end = input.selectionEnd;
    if (caret === null || caret !== end) { return; }  // a selection: typing replaces it, as usual
    var before = input.value.slice(0, caret);
    var m = before.match(WORD_END);
    var word = m ? m[0] : "";
    var r = apply(word, e.key);
    if (r === null) { return; }
    e.preventDefault();
    var head = before.slice(0, before.length - word.length) + r;
    input.value = head + input.value.slice(caret);
    input.setSelectionRange(head.length, head.length);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, true);

  try { state.on = window.localStorage.getItem(STORE) === "1"; } catch (e) { state.on = false; }
  document.addEventListener("DOMContentLoaded", show);
  if (document.readyState !== "loading") { show(); }
  window.Telex = { apply: apply, convert: convert, toggle: toggle, isOn: function () { return state.on; } };
})();
