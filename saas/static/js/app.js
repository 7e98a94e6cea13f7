/* Progressive enhancement only: every page works without this file. No inline scripts (CSP). */
(function () {
  "use strict";

  // Ask before destructive forms, e.g. <form data-confirm="Remove this user?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Close the user menu with Escape and when clicking elsewhere.
  function closeMenus(except) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (menu !== except) {
        menu.removeAttribute("open");
      }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest && event.target.closest("details.user-menu"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeMenus(null);
    }
  });

  // A download of a large database takes a while before the browser shows it: say so meanwhile.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-download]");
    var status = document.querySelector("[data-download-status]");
    if (link && status) {
      status.hidden = false;
      window.setTimeout(function () { status.hidden = true; }, 15000);
    }
  });

  // A job's progress bar: <section data-job-progress="/t/jobs/ID/progress" data-done-url="...">.
  document.querySelectorAll("[data-job-progress]").forEach(function (box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-job-status]");
    function poll() {
      fetch(box.getAttribute("data-job-progress"), {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          var progress = job.progress || {};
          if (bar && progress.percent !== undefined) { bar.value = progress.percent; }
          if (text && progress.total !== undefined) { text.textContent = progress.done + " / " + progress.total; }
          if (job.status === "finished") {
            window.location = box.getAttribute("data-done-url");
          } else if (job.status !== "failed") {
            window.setTimeout(poll, 1000);
          }
        });
    }
    poll();
  });
})();
