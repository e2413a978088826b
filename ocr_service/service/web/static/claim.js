// The claim page: its one button has the focus, so Enter claims (a POST with the CSRF token).
(function () {
  "use strict";
  function focus() { var b = document.getElementById("claim-button"); if (b) { b.focus(); } }
  document.addEventListener("DOMContentLoaded", focus);
  if (document.readyState !== "loading") { focus(); }
})();
