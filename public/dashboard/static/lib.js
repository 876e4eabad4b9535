// Shared helpers: building DOM safely (text only, never HTML strings), reading the
// admin API, and formatting numbers. Everything shown comes from /admin/api.

/** An element with attributes and children; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The page's query string with the current range, for API calls and links. */
export function query(extra = {}) {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === null || v === '') params.delete(k);
    else params.set(k, v);
  }
  return params;
}

export async function api(path, params = query()) {
  const response = await fetch(`/admin/api/${path}${params.size ? `?${params}` : ''}`, { headers: { accept: 'application/json' } });
  if (response.status === 401) {
    location.href = '/dashboard/login';
    throw new Error('signed out');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const format = {
  count: (n) => (n === null || n === undefined ? '–' : integer.format(n)),
  ms: (n) => (n === null || n === undefined ? '–' : `${integer.format(n)} ms`),
  usd: (n) => (n === null || n === undefined ? '–' : `$${n < 1 && n > 0 ? n.toPrecision(3) : n.toFixed(2)}`),
  percent: (n) => (n === null || n === undefined ? '–' : `${(n * 100).toFixed(1)}%`),
  time: (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }),
};

/** A table from rows; `columns` are [heading, row => cell, className?]. */
export function table(columns, rows, rowClass = () => null) {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, columns.map(([title, , cls]) => h('th', { class: cls }, title)))),
    h('tbody', {}, rows.map((row) => h('tr', { class: rowClass(row) }, columns.map(([, cell, cls]) => h('td', { class: cls }, cell(row)))))),
  );
}

/** Replaces the page's content; null and false entries (optional sections) are left out. */
export function render(main, ...nodes) {
  main.replaceChildren(...nodes.flat().filter((node) => node !== null && node !== undefined && node !== false));
}

export function showError(main, error) {
  main.replaceChildren(h('p', { class: 'problem', role: 'alert' }, `Could not load: ${error.message}`));
}
