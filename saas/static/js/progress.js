/* Polls job progress for every element with data-progress-url and updates its <progress> bar.
   Vendored, no inline script: the CSP is script-src 'self'. The endpoint answers
   {"status": "...", "progress": {"done", "total", "stage", "percent"}}. */
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  var FINAL = { finished: true, failed: true, stopped: true, canceled: true };

  function render(element, body) {
    var progress = body.progress || {};
    var bar = element.querySelector("progress");
    if (bar && typeof progress.percent === "number") {
      bar.max = 100;
      bar.value = progress.percent;
      bar.textContent = progress.percent + "%";
    }
    var text = element.querySelector("[data-progress-text]");
    if (text) {
      var count = progress.total ? " " + progress.done + "/" + progress.total : "";
      text.textContent = (progress.stage || "") + count + (FINAL[body.status] ? " (" + body.status + ")" : "");
    }
    element.setAttribute("data-progress-status", body.status || "");
  }

  function poll(element) {
    var url = element.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        render(element, body);
        if (!FINAL[body.status]) { window.setTimeout(function () { poll(element); }, INTERVAL_MS); }
      })
      .catch(function () {
        element.setAttribute("data-progress-status", "unavailable");
      });
  }

  function start() {
    var elements = document.querySelectorAll("[data-progress-url]");
    for (var i = 0; i < elements.length; i += 1) { poll(elements[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
