// Keys: traffic, spend against budget, refusals and top models per caller key.
import { api, format, h, query, render, table } from './lib.js';

function budgetCell(period) {
  if (period.limit_usd === null) return `${format.usd(period.spent_usd)} (no budget)`;
  const share = period.spent_usd / period.limit_usd;
  return h(
    'span',
    { title: `${format.percent(share)} of ${format.usd(period.limit_usd)}` },
    h('span', { class: `bar${share >= 1 ? ' over' : ''}` }, h('span', { style: `width:${Math.min(100, share * 100).toFixed(1)}%` })),
    `${format.usd(period.spent_usd)} / ${format.usd(period.limit_usd)}`,
  );
}

export async function keysPage(main) {
  const data = await api('keys');
  const link = (key) => h('a', { href: `/dashboard/calls?${query({ key, cursor: null })}` }, key);
  render(
    main,
    h('h1', {}, 'Keys'),
    h(
      'section',
      { class: 'panel' },
      table(
        [
          ['Key', (k) => (k.key_id === null ? h('span', { class: 'muted' }, '(no key: failed authentication, /healthz)') : link(k.key_id))],
          ['Requests', (k) => format.count(k.requests), 'num'],
          ['Errors', (k) => format.count(k.errors), 'num'],
          ['Refused by limits', (k) => h('span', { title: Object.entries(k.refusals.by_rule).map(([r, n]) => `${r}: ${n}`).join('\n') }, format.count(k.refusals.total)), 'num'],
          ['Tokens', (k) => format.count(k.prompt_tokens + k.completion_tokens), 'num'],
          ['Spend', (k) => format.usd(k.cost_usd), 'num'],
          ['Saved', (k) => format.usd(k.saved_usd), 'num'],
          ['Today vs daily budget', (k) => budgetCell(k.budget.daily)],
          ['Month vs monthly budget', (k) => budgetCell(k.budget.monthly)],
          ['Top models', (k) => k.top_models.map((m) => `${m.model ?? '–'} (${format.count(m.requests)})`).join(', ') || '–'],
        ],
        data.keys,
      ),
    ),
    h('p', { class: 'muted' }, `Spend is the call log's cost. Budgets count UTC days (since ${format.time(data.periods.day)}) and months.`),
  );
}
