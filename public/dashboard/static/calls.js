// Calls: the newest calls with filters and "older" paging; and one call's detail.
import { api, format, h, query, render, table } from './lib.js';

const FILTERS = ['key', 'model', 'status', 'cache', 'tag'];

function filterForm() {
  const params = query();
  const input = (name, label, placeholder) =>
    h('label', {}, label, h('input', { name, value: params.get(name) ?? '', placeholder, size: 14 }));
  const select = (name, label, options) =>
    h('label', {}, label, h('select', { name }, options.map(([value, text]) => h('option', { value, selected: params.get(name) === value }, text))));
  return h(
    'form',
    { class: 'filters', method: 'get', action: '/dashboard/calls' },
    ['range', 'from', 'to'].map((name) => (params.get(name) ? h('input', { type: 'hidden', name, value: params.get(name) }) : null)),
    input('key', 'Key', 'any'),
    input('model', 'Model', 'any'),
    select('status', 'Status', [['', 'any'], ['2xx', '2xx'], ['error', 'errors'], ['4xx', '4xx'], ['5xx', '5xx'], ['499', '499 (client left)']]),
    select('cache', 'Cache', [['', 'any'], ['HIT', 'HIT'], ['MISS', 'MISS'], ['REFRESH', 'REFRESH'], ['BYPASS', 'BYPASS']]),
    input('tag', 'Metadata tag', 'name:value'),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
    h('a', { href: `/dashboard/calls?${query(Object.fromEntries(FILTERS.map((name) => [name, null])))}` }, 'Clear'),
  );
}

const COLUMNS = [
  ['Time', (c) => h('a', { href: `/dashboard/calls/${encodeURIComponent(c.request_id)}` }, format.time(c.ts))],
  ['Key', (c) => c.key_id ?? '–'],
  ['Model', (c) => c.model ?? '–'],
  ['Provider', (c) => (c.provider ? `${c.provider}/${c.upstream_model ?? ''}` : '–')],
  ['Status', (c) => (c.error_code ? `${c.status} ${c.error_code}` : c.status)],
  ['Latency', (c) => format.ms(c.latency_ms), 'num'],
  ['Tokens', (c) => (c.prompt_tokens === null ? '–' : `${c.prompt_tokens} + ${c.completion_tokens ?? 0}`), 'num'],
  ['Cost', (c) => format.usd(c.cost_usd), 'num'],
  ['Cache', (c) => c.cache_status ?? '–'],
  ['Attempts', (c) => c.attempts, 'num'],
  ['Tags', (c) => (c.metadata ? JSON.stringify(c.metadata) : '')],
];
const isError = (c) => (c.status >= 400 && c.status !== 499 ? 'error' : null);

export async function callsPage(main) {
  const params = query();
  const body = h('tbody');
  const more = h('button', { type: 'button' }, 'Older calls');
  const list = table(COLUMNS, []);
  list.querySelector('tbody').replaceWith(body);
  const note = h('p', { class: 'muted' });
  render(main, h('h1', {}, 'Calls'), filterForm(), h('section', { class: 'panel' }, list), h('p', {}, more), note);

  let cursor = null;
  async function load() {
    more.disabled = true;
    const page = await api('calls', cursor ? query({ cursor }) : params);
    for (const c of page.calls) body.append(h('tr', { class: isError(c) }, COLUMNS.map(([, cell, cls]) => h('td', { class: cls }, cell(c)))));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    note.textContent = body.children.length === 0 ? 'No calls match in this range.' : `${body.children.length} calls shown, newest first.`;
  }
  more.addEventListener('click', () => load().catch((e) => (note.textContent = e.message)));
  await load();
}

export async function callPage(main) {
  const id = decodeURIComponent(location.pathname.split('/').pop());
  const { call, attempts } = await api(`calls/${encodeURIComponent(id)}`, new URLSearchParams());
  const fields = Object.entries(call).filter(([name]) => name !== 'metadata');
  render(
    main,
    h('h1', {}, `Call ${call.request_id}`),
    h('p', {}, h('a', { href: '/dashboard/calls' }, '← All calls')),
    h('section', { class: 'panel' }, h('dl', { class: 'fields' }, fields.map(([name, value]) => [h('dt', {}, name), h('dd', {}, value ?? '–')]))),
    h('p'),
    call.metadata ? h('section', { class: 'panel' }, h('h2', {}, 'Metadata tags'), h('pre', {}, JSON.stringify(call.metadata, null, 2))) : null,
    h('p'),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Attempts'),
      attempts.length === 0
        ? h('p', { class: 'muted' }, 'No upstream attempt (answered by the gateway or the cache).')
        : table(
            [
              ['#', (a) => a.n, 'num'],
              ['Target', (a) => `${a.provider}/${a.model}`],
              ['Decision', (a) => a.decision ?? '–'],
              ['Status', (a) => a.status ?? 'no answer'],
              ['Error', (a) => a.error_code ?? '–'],
              ['Latency', (a) => format.ms(a.latency_ms), 'num'],
              ['Waited before', (a) => format.ms(a.wait_ms), 'num'],
            ],
            attempts,
            (a) => (a.error_code ? 'error' : null),
          ),
    ),
  );
}
