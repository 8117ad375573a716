// Governance dashboard charts. Data comes from json_script blocks; every chart has a table.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var progress = read("progress-data");
  var canvas = document.getElementById("progress-chart");
  if (progress && canvas) {
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: progress.labels,
        datasets: [{ label: "% of deliverables done", data: progress.percent, backgroundColor: "#0b5394" }],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: { legend: { display: false } },
      },
    });
  }

  var trends = read("trend-data") || {};
  document.querySelectorAll("canvas.sparkline").forEach(function (el) {
    var series = trends[el.dataset.key];
    if (!series) { return; }
    var values = series.points.map(function (p) { return Number(p.value); });
    var target = Number(series.target);
    new Chart(el, {
      type: "line",
      data: {
        labels: series.points.map(function (p) { return p.at.slice(0, 10); }),
        datasets: [
          { data: values, borderColor: "#0b5394", pointRadius: 2, borderWidth: 2, tension: 0 },
          { data: values.map(function () { return target; }), borderColor: "#b54708", borderDash: [4, 3],
            pointRadius: 0, borderWidth: 1 },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false }, tooltip: { enabled: true } },
        scales: { x: { display: false }, y: { display: false } },
      },
    });
  });
})();
