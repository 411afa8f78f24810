// Marketing's analytics dashboard: draws the charts from the JSON the page embeds (the API's own figures).
(function () {
  "use strict";
  var dataEl = document.getElementById("analytics-data");
  var labelsEl = document.getElementById("analytics-labels");
  if (!dataEl || !labelsEl || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(dataEl.textContent);
  var t = JSON.parse(labelsEl.textContent);
  var blue = "#4263eb";
  var grey = "#adb5bd";
  var orange = "#f08c00";

  function canvas(key) {
    return document.getElementById("chart-" + key);
  }

  function name(map, key) {
    return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : key;
  }

  var common = { responsive: true, maintainAspectRatio: false, animation: false };

  new Chart(canvas("funnel"), {
    type: "bar",
    data: {
      labels: data.funnel.labels.map(function (k) { return name(t.stages, k); }),
      datasets: [{ label: t.orders, data: data.funnel.values, backgroundColor: blue }],
    },
    options: Object.assign({}, common, {
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, grace: "5%", ticks: { precision: 0 } } },
    }),
  });

  new Chart(canvas("daily"), {
    type: "bar",
    data: {
      labels: data.daily.labels,
      datasets: data.daily.series.map(function (s, i) {
        return { label: name(t.series, s.name), data: s.values, backgroundColor: i === 0 ? blue : grey };
      }),
    },
    options: Object.assign({}, common, {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, grace: "5%", ticks: { precision: 0 } } },
    }),
  });

  var heat = data.heatmap;
  var cells = [];
  var most = 0;
  heat.values.forEach(function (row, w) {
    row.forEach(function (v, h) {
      cells.push({ x: String(heat.hours[h]), y: name(t.weekdays, heat.weekdays[w]), v: v });
      most = Math.max(most, v);
    });
  });
  new Chart(canvas("heatmap"), {
    type: "matrix",
    data: {
      datasets: [{
        label: t.orders,
        data: cells,
        backgroundColor: function (ctx) {
          var cell = ctx.dataset.data[ctx.dataIndex];
          var alpha = most === 0 || !cell ? 0.05 : 0.1 + 0.9 * (cell.v / most);
          return "rgba(66, 99, 235, " + alpha.toFixed(3) + ")";
        },
        borderWidth: 1,
        borderColor: "#fff",
        width: function (ctx) {
          var area = ctx.chart.chartArea;
          return area ? area.width / heat.hours.length - 1 : 10;
        },
        height: function (ctx) {
          var area = ctx.chart.chartArea;
          return area ? area.height / heat.weekdays.length - 1 : 10;
        },
      }],
    },
    options: Object.assign({}, common, {
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: {
          title: function () { return ""; },
          label: function (ctx) { var c = ctx.raw; return c.y + " " + c.x + ":00 · " + c.v; },
        } },
      },
      scales: {
        x: { type: "category", labels: heat.hours.map(String), offset: true, grid: { display: false } },
        y: { type: "category", labels: heat.weekdays.map(function (k) { return name(t.weekdays, k); }),
             offset: true, grid: { display: false } },
      },
    }),
  });

  function horizontal(key, view) {
    new Chart(canvas(key), {
      type: "bar",
      data: {
        labels: view.labels,
        datasets: [
          // Capped: with one or two rows (a program's only partner) a bar would fill the whole box.
          { label: t.referred_orders, data: view.rows.map(function (r) { return r.referred_orders; }), backgroundColor: blue, maxBarThickness: 18 },
          { label: t.referred_customers, data: view.rows.map(function (r) { return r.referred_customers; }), backgroundColor: orange, maxBarThickness: 18 },
        ],
      },
      options: Object.assign({}, common, {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      }),
    });
  }
  horizontal("top-referrers", data["top-referrers"]);
  horizontal("top-partners", data["top-partners"]);
})();
