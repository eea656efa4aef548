/* Insights charts: runs per hour by outcome, drawn with uPlot (vendored from npm) from the
   numbers the page carries in data-chart (the same numbers are in a table beside it). */
(function () {
  "use strict";

  var SERIES = [
    { key: "completed", label: "Completed", color: "#2b8a3e" },
    { key: "completed_with_errors", label: "With errors", color: "#b35c00" },
    { key: "failed", label: "Failed", color: "#c92a2a" },
    { key: "skipped", label: "Skipped", color: "#6b7280" },
  ];

  function draw(el) {
    if (typeof uPlot === "undefined" || el.dataset.drawn) return;
    var data = JSON.parse(el.getAttribute("data-chart") || "{}");
    if (!data.x || !data.x.length) return;
    var bars = uPlot.paths.bars({ size: [0.7, 40] });
    var options = {
      width: Math.max(240, el.clientWidth || 600),
      height: 220,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      axes: [{}, { values: function (u, ticks) { return ticks.map(function (t) { return Number.isInteger(t) ? t : ""; }); } }],
      series: [{ label: "Hour" }].concat(SERIES.map(function (s, index) {
        return {
          label: s.label, stroke: s.color, width: 2,
          fill: index === 0 ? "rgba(43,138,62,.18)" : undefined,
          paths: index === 0 ? bars : undefined,
          points: { show: index !== 0, size: 5 },
        };
      })),
    };
    var columns = [data.x].concat(SERIES.map(function (s) { return data[s.key] || []; }));
    var plot = new uPlot(options, columns, el);
    el.dataset.drawn = String(data.total || 0);
    el._plot = plot;
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawAll(document);
    if (typeof htmx !== "undefined") htmx.onLoad(drawAll);
  });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el._plot) el._plot.setSize({ width: Math.max(240, el.clientWidth), height: 220 });
    });
  });
})();
