// Time-series charts with uPlot (loaded before this module as the global `uPlot`).
// Each drawn chart is listed in window.dashboardCharts, which the browser test reads.

const COLORS = ['#2563eb', '#d92d20', '#f79009', '#12b76a', '#7a5af8', '#0ba5ec'];

window.dashboardCharts = [];
const live = [];

/**
 * A line chart of one or more series over `t` (epoch ms).
 * `series`: [{ label, values, format? }], drawn in order.
 */
export function timeChart(container, title, t, series, options = {}) {
  const width = Math.max(320, container.clientWidth - 4);
  const opts = {
    title,
    width,
    height: 220,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [{}, { size: 60, values: (u, ticks) => ticks.map(options.axis ?? ((v) => v)) }],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: true,
        points: { show: true, size: 4 },
        value: (u, v) => (v === null || v === undefined ? '–' : (s.format ?? String)(v)),
      })),
    ],
  };
  const data = [t.map((ms) => ms / 1000), ...series.map((s) => s.values)];
  const chart = new uPlot(opts, data, container);
  live.push({ chart, container });
  window.dashboardCharts.push({ title, chart });
  return chart;
}

let resizing;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    for (const { chart, container } of live) chart.setSize({ width: Math.max(320, container.clientWidth - 4), height: 220 });
  }, 100);
});

export function clearCharts() {
  for (const { chart } of live.splice(0)) chart.destroy();
  window.dashboardCharts = [];
}
