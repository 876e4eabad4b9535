// Providers and their targets: attempts, failures, failovers, latency, breaker state.
import { api, format, h, render, table } from './lib.js';

const STATES = { closed: 'closed', open: 'open', half_open: 'half open' };

export async function providersPage(main) {
  const data = await api('providers');
  render(
    main,
    h('h1', {}, 'Providers'),
    data.health_error ? h('p', { class: 'problem' }, data.health_error) : null,
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Providers'),
      table(
        [
          ['Provider', (p) => p.provider],
          ['Kind', (p) => p.kind],
          ['Calls served', (p) => format.count(p.calls), 'num'],
          ['Errors', (p) => format.count(p.errors), 'num'],
          ['Spend', (p) => format.usd(p.cost_usd), 'num'],
          ['Latency (avg)', (p) => format.ms(p.latency_avg_ms), 'num'],
          ['Provider back-off', (p) => (p.backoff_until ? `until ${format.time(p.backoff_until)}` : '–')],
        ],
        data.providers,
      ),
    ),
    h('p'),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Targets'),
      table(
        [
          ['Target', (t) => t.target],
          ['Models', (t) => t.aliases.join(', ') || '–'],
          ['Breaker', (t) => h('span', { class: `badge ${t.breaker.state}`, title: breakerTitle(t.breaker) }, STATES[t.breaker.state] ?? t.breaker.state)],
          ['Attempts', (t) => format.count(t.attempts), 'num'],
          ['Failures', (t) => format.count(t.failures), 'num'],
          ['Failure rate', (t) => format.percent(t.failure_rate), 'num'],
          ['Failovers', (t) => format.count(t.failovers), 'num'],
          ['Skipped', (t) => format.count(t.skipped), 'num'],
          ['Latency avg', (t) => format.ms(t.latency_avg_ms), 'num'],
          ['Latency p95', (t) => format.ms(t.latency_p95_ms), 'num'],
        ],
        data.targets,
        (t) => (t.breaker.state === 'closed' ? null : 'error'),
      ),
    ),
    h('p', { class: 'muted' }, 'Attempts come from the raw call log; breaker states are live, from the Health object.'),
  );
}

function breakerTitle(b) {
  const parts = [`${b.consecutive_failures} consecutive failures`];
  if (b.blocked_until) parts.push(`blocked until ${format.time(b.blocked_until)}`);
  if (b.retry_after_until) parts.push(`provider asked to wait until ${format.time(b.retry_after_until)}`);
  if (b.unreachable) parts.push('unreachable');
  return parts.join('; ');
}
