// Polls the import's status JSON about once a second and moves the progress bar; when the import
// has finished, reloads the page so that the server renders the counts and the bad rows.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box || !box.dataset.polling) {
    return;
  }
  var url = box.dataset.statusUrl;
  var delay = 1000;

  function show(status) {
    box.querySelectorAll("[data-field]").forEach(function (node) {
      var name = node.dataset.field;
      if (!(name in status)) {
        return;
      }
      if (node.tagName === "PROGRESS") {
        node.value = status[name];
        node.textContent = status[name] + "%";
      } else {
        node.textContent = status[name];
      }
      if (name === "message") {
        node.hidden = !status.message;
      }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.finished) {
          window.location.reload();
        } else {
          delay = 1000;
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        // A dropped request or a restarting server: try again, less often.
        delay = Math.min(delay * 2, 10000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
