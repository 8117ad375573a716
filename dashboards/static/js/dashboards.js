// Dashboards (issue #7): draw every <canvas data-chart="<json_script id>"> with Chart.js.
// Each series carries one drill-down link per value: clicking a bar or point opens it.
// The same figures are in the table beside each chart, whose rows link to the same pages,
// so everything is reachable with the keyboard. Also shows only the period picker fields
// that the chosen period kind uses.
(function () {
  "use strict";

  var picker = document.getElementById("picker-period");
  function syncPicker() {
    if (!picker) { return; }
    document.querySelectorAll("[data-period-field]").forEach(function (el) {
      var on = el.getAttribute("data-period-field") === picker.value;
      el.hidden = !on;
      el.querySelectorAll("input, select").forEach(function (input) { input.disabled = !on; });
    });
  }
  if (picker) { picker.addEventListener("change", syncPicker); syncPicker(); }

  if (typeof Chart === "undefined") { return; }
  window.finhubCharts = window.finhubCharts || {};

  function formatter(kind, currency) {
    var digits = kind === "int" ? 0 : kind === "percent" ? 1 : 2;
    var nf = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return function (v) {
      if (v === null || v === undefined || isNaN(v)) { return "undefined"; }
      var text = nf.format(Math.abs(v));
      var sign = v < 0 ? "\u2212" : "";
      if (kind === "money") { return sign + (currency ? currency + " " : "") + text; }
      if (kind === "percent") { return sign + text + "%"; }
      return sign + text;
    };
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var fmt = formatter(spec.valueKind, spec.currency);
    var datasets = spec.series.map(function (s) {
      return {
        type: s.type, label: s.label,
        data: s.values.map(function (v) { return v === null ? null : Number(v); }),
        backgroundColor: s.spacer ? "transparent" : s.color,
        borderColor: s.spacer ? "transparent" : s.color, borderWidth: s.type === "line" ? 2 : 0,
        pointRadius: s.type === "line" ? 3 : undefined, tension: 0, links: s.links,
        spacer: !!s.spacer,
      };
    });
    spec.references.forEach(function (r) {
      datasets.push({
        type: "line", label: r.label, data: spec.labels.map(function () { return Number(r.value); }),
        borderColor: r.color, borderDash: [6, 4], borderWidth: 2, pointRadius: 0, links: [],
      });
    });
    var valueAxis = { ticks: { callback: function (v) { return fmt(v); } }, stacked: spec.stacked };
    var chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: true },
        scales: spec.horizontal
          ? { x: valueAxis, y: { stacked: spec.stacked } }
          : { y: valueAxis, x: { stacked: spec.stacked } },
        plugins: {
          // A spacer series (the invisible base of a waterfall's floating bars) stays silent.
          legend: { labels: { filter: function (item, data) { return !data.datasets[item.datasetIndex].spacer; } } },
          tooltip: {
            filter: function (item) { return !item.dataset.spacer; },
            callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + fmt(ctx.raw); } },
          },
        },
        onHover: function (event, elements) {
          var link = elements.length && linkOf(elements[0]);
          event.native.target.style.cursor = link ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          var link = elements.length && linkOf(elements[0]);
          if (link) { window.location.href = link; }
        },
      },
    });
    function linkOf(element) {
      var ds = chart.data.datasets[element.datasetIndex];
      return ds && ds.links ? ds.links[element.index] : "";
    }
    window.finhubCharts[canvas.id.replace(/^canvas-/, "")] = chart;
  });
})();
