// The read-only sheet view: Esc goes back to the group being verified.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); window.location.assign("/review/group"); }
  });
})();
