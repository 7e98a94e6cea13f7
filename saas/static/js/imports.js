/* Import pages: the drop zone (a plain file field without JavaScript; with it, a file dropped anywhere on
   the zone is put into that field) and a reload once the polled import is finished, to show its report.
   Vendored, no inline script: the CSP is script-src 'self'. */
(function () {
  "use strict";
  var FINAL = { finished: true, failed: true, stopped: true, canceled: true };

  function dropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input) { return; }
    zone.classList.add("dropzone--enhanced");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dropzone--over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dropzone--over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; }
    });
  }

  function reloadWhenFinished(element) {
    var observer = new MutationObserver(function () {
      if (FINAL[element.getAttribute("data-progress-status")]) { window.location.reload(); }
    });
    observer.observe(element, { attributes: true, attributeFilter: ["data-progress-status"] });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-dropzone]"), dropzone);
    Array.prototype.forEach.call(document.querySelectorAll("[data-import-progress]"), reloadWhenFinished);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
