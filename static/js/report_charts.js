// Draws every report chart of the page: a <div class="report-chart" data-figure="ID"> and the
// figure's JSON in <script type="application/json" id="ID"> (Django's json_script).
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") {
      return;
    }
    document.querySelectorAll(".report-chart[data-figure]").forEach(function (node) {
      var source = document.getElementById(node.dataset.figure);
      if (!source) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      Plotly.newPlot(node, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
      });
      node.dataset.drawn = "true";
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
