/* The dashboard: fetches its figures (JSON from data-url) and draws them with ECharts (served
 * locally from node_modules) and the grid map with Leaflet. Every bar, slice and grid links to
 * the cases behind it: a click follows the figure's `url` (the case console with the matching
 * filters, or the scorecards' explanation page for a rate). The tables under the charts carry
 * the same links for keyboards and screen readers.
 */
(function () {
  "use strict";

  var BRAND = "#0b3d91", ACCENT = "#c8102e", OK = "#1e7b34", WARN = "#e0a100";
  var T = {};
  var charts = [];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pct(rate) {
    return rate === null || rate === undefined ? "—" : (rate * 100).toFixed(1) + "%";
  }

  function link(url, text) {
    if (!url) return el("span", {}, text);
    var a = el("a", { href: url }, text);
    return a;
  }

  function table(target, headers, rows) {
    var box = document.querySelector('[data-table="' + target + '"]');
    if (!box) return;
    box.innerHTML = "";
    var t = el("table", { "data-testid": "table-" + target });
    var head = el("tr");
    headers.forEach(function (h, i) { head.appendChild(el("th", i ? { class: "num" } : {}, h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    if (!rows.length) {
      var empty = el("td", { colspan: String(headers.length), class: "muted" }, T.none);
      body.appendChild(el("tr")).appendChild(empty);
    }
    rows.forEach(function (cells) {
      var tr = body.appendChild(el("tr"));
      cells.forEach(function (c, i) {
        var td = tr.appendChild(el("td", i ? { class: "num" } : {}));
        if (c && c.nodeType) td.appendChild(c); else td.textContent = c === null ? "—" : String(c);
      });
    });
    box.appendChild(t);
  }

  function chart(name, option, urls) {
    var box = document.querySelector('[data-chart="' + name + '"]');
    if (!box || !window.echarts) return null;
    var c = echarts.init(box, null, { renderer: "canvas" });
    option.animation = false;
    option.grid = option.grid || { left: 48, right: 16, top: 28, bottom: 36, containLabel: true };
    option.tooltip = option.tooltip || { trigger: "item", confine: true };
    c.setOption(option);
    if (urls) {
      c.on("click", function (p) {
        var url = typeof urls === "function" ? urls(p) : urls[p.dataIndex];
        if (url) window.location.href = url;
      });
      c.getZr().setCursorStyle("pointer");
    }
    box.dataset.ready = "1";
    charts.push(c);
    return c;
  }

  function stat(parent, label, value, url, extra, tone) {
    var s = el("div", { class: "stat" + (tone ? " " + tone : ""), "data-testid": "stat" });
    s.appendChild(url ? el("a", { class: "value", href: url }, value) : el("div", { class: "value" }, value));
    s.appendChild(el("div", { class: "label" }, label));
    if (extra) s.appendChild(extra);
    parent.appendChild(s);
  }

  function drawStats(d) {
    var box = document.querySelector("[data-dash-stats]");
    box.innerHTML = "";
    var t = d.totals;
    var change = null;
    if (t.change !== null) {
      change = el("a", { class: "change " + (t.change > 0 ? "up" : "down"), href: t.before_url },
        (t.change > 0 ? "↑ " : "↓ ") + pct(Math.abs(t.change)) + " " + T.vs_previous);
    }
    stat(box, T.received, t.received, t.url, change);
    stat(box, T.resolved, t.resolved, t.resolved_url);
    stat(box, T.open, d.deadlines.open, d.deadlines.open_url);
    stat(box, T.near_due, d.deadlines.near_due, d.deadlines.near_due_url, null, d.deadlines.near_due ? "warn" : "");
    stat(box, T.overdue, d.deadlines.overdue, d.deadlines.overdue_url, null, d.deadlines.overdue ? "bad" : "");
    d.rates.forEach(function (r) { stat(box, r.label, pct(r.rate), r.numerator_url); });
  }

  function drawTrend(d) {
    var urls = d.trend.map(function (b) { return b.url; });
    chart("trend", {
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0, data: [T.received, T.response_on_time, T.resolved_on_time] },
      xAxis: { type: "category", data: d.trend.map(function (b) { return b.label; }) },
      yAxis: [
        { type: "value", minInterval: 1 },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } },
      ],
      series: [
        { name: T.received, type: "bar", barMaxWidth: 28, itemStyle: { color: BRAND }, data: d.trend.map(function (b) { return b.total; }) },
        { name: T.response_on_time, type: "line", yAxisIndex: 1, itemStyle: { color: OK },
          data: d.trend.map(function (b) { return b.response_on_time === null ? null : +(b.response_on_time * 100).toFixed(1); }) },
        { name: T.resolved_on_time, type: "line", yAxisIndex: 1, itemStyle: { color: WARN },
          data: d.trend.map(function (b) { return b.resolved_on_time === null ? null : +(b.resolved_on_time * 100).toFixed(1); }) },
      ],
    }, urls);
    table("trend", [T.period, T.received, T.response_on_time, T.resolved_on_time], d.trend.map(function (b) {
      return [b.start === b.end ? b.start : b.start + " – " + b.end, link(b.url, b.total), pct(b.response_on_time), pct(b.resolved_on_time)];
    }));
  }

  function drawSplit(name, rows, pie) {
    var urls = rows.map(function (r) { return r.url; });
    if (pie) {
      chart(name, {
        legend: { type: "scroll", bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"], label: { formatter: "{b}\n{c}" },
          data: rows.map(function (r) { return { name: r.label, value: r.total }; }) }],
      }, urls);
    } else {
      chart(name, {
        grid: { left: 8, right: 36, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.label; }) },
        series: [{ type: "bar", barMaxWidth: 24, itemStyle: { color: BRAND }, label: { show: true, position: "right" },
          data: rows.map(function (r) { return r.total; }) }],
      }, urls);
    }
    table(name, [T.label, T.received], rows.map(function (r) { return [r.label, link(r.url, r.total)]; }));
  }

  function drawDeadlines(d) {
    var x = d.deadlines;
    var rows = [
      { label: T.on_time_open, total: x.open - x.near_due - x.overdue, url: x.open_url, color: OK },
      { label: T.near_due, total: x.near_due, url: x.near_due_url, color: WARN },
      { label: T.overdue, total: x.overdue, url: x.overdue_url, color: ACCENT },
    ];
    chart("deadlines", {
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"], label: { formatter: "{b}\n{c}" },
        data: rows.map(function (r) { return { name: r.label, value: r.total, itemStyle: { color: r.color } }; }) }],
    }, rows.map(function (r) { return r.url; }));
    table("deadlines", [T.label, T.cases], [
      [T.open, link(x.open_url, x.open)],
      [T.near_due, link(x.near_due_url, x.near_due)],
      [T.overdue, link(x.overdue_url, x.overdue)],
    ]);
  }

  function drawRates(d) {
    chart("rates", {
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", inverse: true, data: d.rates.map(function (r) { return r.label; }) },
      series: [{ type: "bar", barMaxWidth: 24, itemStyle: { color: BRAND }, label: { show: true, position: "right", formatter: "{c}%" },
        data: d.rates.map(function (r) { return r.rate === null ? null : +(r.rate * 100).toFixed(1); }) }],
    }, d.rates.map(function (r) { return r.numerator_url; }));
    table("rates", [T.rate, T.value, T.numerator, T.denominator], d.rates.map(function (r) {
      return [r.label, pct(r.rate), link(r.numerator_url, r.numerator), link(r.denominator_url, r.denominator)];
    }));
    var note = document.querySelector("[data-dash-preset]");
    if (note) note.textContent = T.preset + " " + d.preset;
  }

  function drawCompliance(d) {
    chart("compliance", {
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 8, bottom: 32, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: d.compliance.map(function (c) { return c.label; }) },
      series: [
        { name: T.on_time, type: "bar", barMaxWidth: 24, stack: "all", itemStyle: { color: OK }, data: d.compliance.map(function (c) { return c.on_time; }) },
        { name: T.late, type: "bar", barMaxWidth: 24, stack: "all", itemStyle: { color: ACCENT }, data: d.compliance.map(function (c) { return c.late; }) },
      ],
    }, function (p) {
      var c = d.compliance[p.dataIndex];
      return p.seriesIndex === 0 ? c.on_time_url : c.due_url;
    });
    table("compliance", [T.label, T.value, T.on_time, T.due], d.compliance.map(function (c) {
      return [c.label, pct(c.rate), link(c.on_time_url, c.on_time), link(c.due_url, c.due)];
    }));
  }

  // --- the grid map --------------------------------------------------------------------

  var SCALE = ["#eef3fb", "#c6d8f0", "#8fb2e0", "#4f82c8", "#0b3d91"];

  function colour(value, max) {
    if (!value || !max) return "#ffffff";
    var i = Math.min(SCALE.length - 1, Math.floor((value / max) * SCALE.length));
    return SCALE[i];
  }

  function drawMap(root, d) {
    var box = root.querySelector("[data-dash-map]");
    var select = root.querySelector("[data-map-metric]");
    var legend = root.querySelector("[data-map-legend]");
    var grids = d.map.grids;
    var ids = Object.keys(grids);
    table("grids", [T.grid, T.received, T.open, T.overdue, T.overdue_share], ids
      .sort(function (a, b) { return grids[b].total - grids[a].total; })
      .map(function (id) {
        var g = grids[id];
        return [g.name, link(g.url, g.total), g.open, link(g.overdue_url, g.overdue), pct(g.overdue_share)];
      }));
    if (!box || !window.L) return;
    var map = L.map(box, { attributionControl: !!root.dataset.tileUrl });
    map.setView([30.6, 104.0], 12);
    if (root.dataset.tileUrl) {
      L.tileLayer(root.dataset.tileUrl, { maxZoom: 19, attribution: root.dataset.tileAttribution || "" }).addTo(map);
    }
    var metric = select ? select.value : "total";
    function value(id) {
      var g = grids[String(id)];
      if (!g) return 0;
      return metric === "total" ? g.total : (g.overdue_share || 0);
    }
    function max() {
      return ids.reduce(function (m, id) { return Math.max(m, value(id)); }, 0);
    }
    var layer = L.geoJSON(null, {
      style: function (f) {
        return { weight: 1, color: "#0b3d91", fillOpacity: 0.7, fillColor: colour(value(f.properties.id), max()) };
      },
      onEachFeature: function (f, lyr) {
        var g = grids[String(f.properties.id)] || { total: 0, open: 0, overdue: 0, overdue_share: null };
        lyr.bindTooltip(f.properties.name + " · " + T.received + " " + g.total + " · " + T.overdue + " " +
          g.overdue + "/" + g.open + " (" + pct(g.overdue_share) + ")", { sticky: true });
        lyr.on("click", function () {
          var url = metric === "total" ? g.url : g.overdue_url;
          if (url) window.location.href = url;
        });
      },
    }).addTo(map);
    function paint() {
      layer.setStyle(function (f) {
        return { weight: 1, color: "#0b3d91", fillOpacity: 0.7, fillColor: colour(value(f.properties.id), max()) };
      });
      var top = max();
      legend.textContent = "";
      legend.appendChild(document.createTextNode(T.legend + ": 0"));
      SCALE.forEach(function (c) { legend.appendChild(el("span", { class: "dash-legend-swatch", style: "background:" + c })); });
      legend.appendChild(document.createTextNode(metric === "total" ? String(top) : pct(top)));
    }
    if (select) select.addEventListener("change", function () { metric = select.value; paint(); });
    fetch(d.map.geojson_url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : { type: "FeatureCollection", features: [] }; })
      .then(function (data) {
        layer.addData(data);
        var bounds = layer.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
        paint();
        box.dataset.ready = "1";
      });
  }

  function init(root) {
    var labels = document.getElementById("dash-labels");
    T = labels ? JSON.parse(labels.textContent) : {};
    var caption = root.querySelector("[data-dash-caption]");
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (d) {
        caption.textContent = d.scope.label + " · " + d.period.start + " – " + d.period.end;
        drawStats(d);
        drawTrend(d);
        drawDeadlines(d);
        drawRates(d);
        drawCompliance(d);
        drawSplit("channels", d.channels, true);
        drawSplit("kinds", d.kinds, true);
        drawSplit("categories", d.categories, false);
        drawMap(root, d);
        root.dataset.ready = "1";
      })
      .catch(function () {
        caption.textContent = document.body.dataset.requestFailed || "Error";
      });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-dashboard]").forEach(init);
  });
})();
