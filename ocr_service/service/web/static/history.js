// The history page: Esc goes back to the sheet.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    var back = document.getElementById("back");
    if (e.key === "Escape" && back) { e.preventDefault(); window.location.assign(back.getAttribute("href")); }
  });
})();
