// The before/after chart of a monthly topic: cases a month as bars, resolved as a line, and a
// mark at the topic's month. ECharts is served locally (vendor/echarts); without it (or
// without JavaScript) the table under the chart carries the same figures.
(function () {
  function draw() {
    var node = document.getElementById("topic-chart");
    var source = document.getElementById("topic-chart-data");
    if (!node || !source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(node);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [node.dataset.labelCases, node.dataset.labelResolved], top: 0, left: "center" },
      grid: { left: 40, right: 16, top: 40, bottom: 28 },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        {
          name: node.dataset.labelCases,
          type: "bar",
          data: data.counts.map(function (n, i) {
            return { value: n, itemStyle: { color: data.months[i] < data.period ? "#8a99ad" : "#1f5fbf" } };
          }),
          markLine: {
            symbol: "none",
            label: { formatter: node.dataset.labelStart },
            data: [{ xAxis: data.period }],
          },
        },
        { name: node.dataset.labelResolved, type: "line", data: data.resolved, itemStyle: { color: "#1e8a4c" } },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
