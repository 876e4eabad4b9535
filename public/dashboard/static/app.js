// The dashboard's entry: picks the page from <body data-page>, keeps the range in the URL.
import { callPage, callsPage } from './calls.js';
import { keysPage } from './keys.js';
import { showError } from './lib.js';
import { overviewPage } from './overview.js';
import { providersPage } from './providers.js';

const PAGES = { overview: overviewPage, keys: keysPage, providers: providersPage, calls: callsPage, call: callPage };

const main = document.getElementById('main');
const range = document.getElementById('range');
const params = new URLSearchParams(location.search);
const custom = params.has('from') || params.has('to');
if (custom) range.prepend(new Option('Custom range', 'custom'));
range.value = custom ? 'custom' : (params.get('range') ?? '24h');

// The chosen range follows the navigation from page to page.
const carried = new URLSearchParams();
for (const name of custom ? ['from', 'to'] : ['range']) if (params.has(name)) carried.set(name, params.get(name));
if (!custom) carried.set('range', range.value);
for (const link of document.querySelectorAll('header nav a')) {
  link.href = `${link.getAttribute('href')}?${carried}`;
}

range.addEventListener('change', () => {
  const next = new URLSearchParams(location.search);
  next.set('range', range.value);
  next.delete('from');
  next.delete('to');
  next.delete('cursor');
  location.search = next.toString();
});

const renderPage = PAGES[document.body.dataset.page];
if (!params.has('range') && !custom && document.body.dataset.page !== 'call') {
  params.set('range', range.value);
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
renderPage(main)
  .then(() => document.body.setAttribute('data-ready', 'true'))
  .catch((error) => {
    showError(main, error);
    document.body.setAttribute('data-ready', 'error');
  });
