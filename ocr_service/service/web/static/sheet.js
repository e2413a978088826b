// The read-only sheet view: Esc goes back to the group being verified; F9 opens the sheet's history.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); window.location.assign("/review/group"); }
    if (e.key === "F9") {
      var h = document.getElementById("history");
      if (h) { e.preventDefault(); window.location.assign(h.getAttribute("href")); }
    }
  });
})();
