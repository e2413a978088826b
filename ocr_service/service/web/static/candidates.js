// The F2 key of both review modes (group and sheet): the input's next candidate value, from its
// data-choices (what is shown first, the pipeline's suggestion, the engines' other readings), then
// round again. An "input" event follows so the page reacts as to typing (the suggestions, and sheet
// mode's checks); group mode's F3 puts its value the same way (show). One copy, loaded before
// review.js and sheetmode.js.
(function () {
  "use strict";
  function next(input) {
    var choices = [];
    try { choices = JSON.parse(input.dataset.choices || "[]"); } catch (e) { choices = []; }
    if (!choices.length) { return; }
    var i = choices.indexOf(input.value);
    show(input, choices[(i + 1) % choices.length]);
  }
  // Put ``value`` in the input, selected (Enter takes it, typing replaces it), as if typed.
  function show(input, value) {
    input.value = value;
    input.select();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
  window.Candidates = { next: next, show: show };
})();
