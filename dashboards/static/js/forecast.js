// Forecast page (issue #13): the fan chart's 80% and 95% ranges are filled between their low
// and high lines. js/dashboards.js draws every chart as plain lines; this fills the bands
// named in the page's "forecast-fan-fill" data ({chart, fill: {dataset index: target},
// flat: [indexes drawn without points]}) and redraws. The figures are in the table below.
(function () {
  "use strict";
  var source = document.getElementById("forecast-fan-fill");
  if (!source || !window.finhubCharts) { return; }
  var spec = JSON.parse(source.textContent);
  var chart = window.finhubCharts[spec.chart];
  if (!chart) { return; }
  Object.keys(spec.fill).forEach(function (index) {
    var dataset = chart.data.datasets[Number(index)];
    if (dataset) { dataset.fill = spec.fill[index]; }
  });
  spec.flat.forEach(function (index) {
    var dataset = chart.data.datasets[index];
    if (dataset) { dataset.pointRadius = 0; dataset.borderWidth = 1; }
  });
  chart.update();
})();
