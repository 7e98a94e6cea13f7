/* Retention pages: when progress.js reports that a sweep's job finished, reload the page so it shows
   the sweep's stored results. Progressive enhancement only; no inline script (CSP). */
(function () {
  "use strict";

  function watch(element) {
    var observer = new MutationObserver(function () {
      if (element.getAttribute("data-progress-status") === "finished") {
        observer.disconnect();
        window.location.reload();
      }
    });
    observer.observe(element, { attributes: true, attributeFilter: ["data-progress-status"] });
  }

  function start() {
    var elements = document.querySelectorAll("[data-reload-when-finished]");
    for (var i = 0; i < elements.length; i += 1) { watch(elements[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
