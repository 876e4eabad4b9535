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
range.value = params.get('range') ?? '24h';

// The chosen range follows the navigation from page to page.
for (const link of document.querySelectorAll('header nav a')) {
  link.href = `${link.getAttribute('href')}?range=${encodeURIComponent(range.value)}`;
}

range.addEventListener('change', () => {
  const next = new URLSearchParams(location.search);
  next.set('range', range.value);
  next.delete('from');
  next.delete('to');
  next.delete('cursor');
  location.search = next.toString();
});

const render = PAGES[document.body.dataset.page];
if (!params.has('range') && !params.has('from') && document.body.dataset.page !== 'call') {
  params.set('range', range.value);
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
render(main)
  .then(() => document.body.setAttribute('data-ready', 'true'))
  .catch((error) => {
    showError(main, error);
    document.body.setAttribute('data-ready', 'error');
  });
