/**
 * The dashboard's HTML. Only the shell (navigation and empty containers) and the
 * sign-in, refusal and disabled pages are rendered here: they carry no data. The
 * shell's script (public/dashboard/static/app.js) reads everything from /admin/api
 * with the session cookie, so an unauthenticated request never sees a number.
 */

const STATIC = '/dashboard/static';

/** Scripts and styles from our own origin only; no inline script anywhere. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // Not no-referrer: with it, browsers send `Origin: null` on form posts, which the CSRF check refuses.
  'referrer-policy': 'same-origin',
};

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function document(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Edge AI Gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STATIC}/style.css">${head}
</head>
${body}
</html>
`;
}

export function page(status: number, html: string, headers: Record<string, string> = {}): Response {
  return new Response(html, { status, headers: { ...PAGE_HEADERS, ...headers } });
}

/** The sign-in form; `problem` explains a refusal (shown on the 401 page). */
export function signInPage(problem?: string): string {
  const note = problem ? `<p class="problem" role="alert">${escape(problem)}</p>` : '';
  return document(
    'Sign in',
    `<body class="plain">
<main class="card">
<h1>Edge AI Gateway</h1>
<p>The dashboard needs the admin key (the <code>GATEWAY_ADMIN_KEY</code> secret).</p>
${note}
<form method="post" action="/dashboard/login">
<label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>`,
  );
}

export function messagePage(title: string, message: string): string {
  return document(title, `<body class="plain"><main class="card"><h1>${escape(title)}</h1><p>${escape(message)}</p></main></body>`);
}

export const DISABLED_MESSAGE =
  'The dashboard is disabled: no admin key is set. Set the GATEWAY_ADMIN_KEY secret (wrangler secret put GATEWAY_ADMIN_KEY) to turn it on.';

const NAV = [
  ['overview', '/dashboard', 'Overview'],
  ['keys', '/dashboard/keys', 'Keys'],
  ['providers', '/dashboard/providers', 'Providers'],
  ['calls', '/dashboard/calls', 'Calls'],
] as const;

/** The signed-in shell; the page's script fills `main`. */
export function shell(pageName: string): string {
  const links = NAV.map(([id, href, label]) => `<a href="${href}"${id === pageName ? ' aria-current="page"' : ''}>${label}</a>`).join('');
  return document(
    'Dashboard',
    `<body data-page="${escape(pageName)}">
<header>
<strong class="brand">Edge AI Gateway</strong>
<nav>${links}</nav>
<label class="range">Range
<select id="range">
<option value="1h">Last hour</option><option value="6h">Last 6 hours</option><option value="24h">Last 24 hours</option>
<option value="7d">Last 7 days</option><option value="30d">Last 30 days</option>
</select>
</label>
<form method="post" action="/dashboard/logout"><button type="submit" class="link">Sign out</button></form>
</header>
<main id="main" aria-live="polite"><p class="muted">Loading…</p></main>
</body>`,
    `
<link rel="stylesheet" href="${STATIC}/vendor/uPlot.min.css">
<script src="${STATIC}/vendor/uPlot.iife.min.js" defer></script>
<script type="module" src="${STATIC}/app.js"></script>`,
  );
}
