// Overview: headline figures and time series over the chosen range.
import { clearCharts, timeChart } from './charts.js';
import { api, format, h, render, table } from './lib.js';

// Each tile names its field in the API's totals (data-metric), and carries the raw value (data-value).
const TILES = [
  ['requests', 'Requests', format.count],
  ['errors', 'Errors', format.count],
  ['error_rate', 'Error rate', format.percent],
  ['latency_p50_ms', 'Latency p50', format.ms],
  ['latency_p95_ms', 'Latency p95', format.ms],
  ['ttfb_avg_ms', 'TTFB (avg)', format.ms],
  ['total_tokens', 'Tokens', format.count],
  ['cost_usd', 'Spend', format.usd],
  ['saved_usd', 'Saved by cache', format.usd],
  ['cache_hit_ratio', 'Cache hit ratio', format.percent],
];

export async function overviewPage(main) {
  const data = await api('overview');
  const { totals, series } = data;
  clearCharts();
  const tiles = h(
    'section',
    { class: 'tiles' },
    TILES.map(([metric, label, show]) =>
      h('div', { class: 'tile', 'data-metric': metric, 'data-value': totals[metric] ?? '' }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, show(totals[metric]))),
    ),
  );
  const charts = h('section', { class: 'charts' });
  const source =
    data.percentiles === 'exact'
      ? 'Raw call rows; exact percentiles.'
      : `Hourly rollups${data.rollups_until ? ` until ${format.time(data.rollups_until)}` : ''} and raw rows after; percentiles from the latency histogram.`;
  render(
    main,
    h('h1', {}, 'Overview'),
    tiles,
    charts,
    h('section', { class: 'panel' }, h('h2', {}, 'Errors (and 499: client left) by status and code'), errorTable(data.error_codes)),
    h('section', { class: 'panel', 'data-panel': 'guardrails' }, h('h2', {}, 'Guardrails that fired'), guardrailTable(data.guardrails)),
    h('p', { class: 'muted' }, `${format.time(data.range.from)} – ${format.time(data.range.to)}, ${bucketName(data.range.bucket_ms)} buckets. ${source}`),
  );

  const chart = (title, lines, options) => {
    const box = h('div', { class: 'panel chart', 'data-chart': title });
    charts.append(box);
    timeChart(box, title, series.t, lines, options);
  };
  chart('Requests and errors', [
    { label: 'Requests', values: series.requests, format: format.count },
    { label: '4xx', values: series.errors_4xx, format: format.count },
    { label: '5xx', values: series.errors_5xx, format: format.count },
  ]);
  chart('Latency', [
    { label: 'p50', values: series.latency_p50_ms, format: format.ms },
    { label: 'p95', values: series.latency_p95_ms, format: format.ms },
    { label: 'TTFB avg', values: series.ttfb_avg_ms, format: format.ms },
  ]);
  chart('Tokens', [
    { label: 'Prompt', values: series.prompt_tokens, format: format.count },
    { label: 'Completion', values: series.completion_tokens, format: format.count },
  ]);
  chart(
    'Spend and cache savings (USD)',
    [
      { label: 'Spend', values: series.cost_usd, format: format.usd },
      { label: 'Saved by cache', values: series.saved_usd, format: format.usd },
    ],
    { axis: (v) => `$${+v.toPrecision(3)}` },
  );
  chart('Cache hit ratio', [{ label: 'Hit ratio', values: series.cache_hit_ratio, format: format.percent }], {
    axis: (v) => `${Math.round(v * 100)}%`,
  });
}

function errorTable(rows) {
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No errors in this range.');
  return table(
    [
      ['Status', (r) => r.status],
      ['Code', (r) => r.code ?? '–'],
      ['Calls', (r) => h('a', { href: `/dashboard/calls?status=${r.status}` }, format.count(r.count)), 'num'],
    ],
    rows,
  );
}

function guardrailTable(rows) {
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No guardrail fired in this range (raw call rows only).');
  return table(
    [
      ['Guardrail', (r) => r.name],
      ['Stage', (r) => r.stage],
      ['Action', (r) => r.action],
      ['Calls', (r) => format.count(r.count), 'num'],
    ],
    rows,
  );
}

function bucketName(ms) {
  if (ms < 60_000) return `${ms / 1000}-second`;
  if (ms < 3_600_000) return `${ms / 60_000}-minute`;
  return ms < 86_400_000 ? `${ms / 3_600_000}-hour` : `${ms / 86_400_000}-day`;
}
