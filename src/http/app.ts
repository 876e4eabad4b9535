import { Hono } from 'hono';
import { admin } from '../admin/routes';
import { asGatewayError, GatewayError } from '../errors';
import { anthropicFormat } from '../ingress/anthropic';
import { errorResponse } from '../ingress/openai/errors';
import type { AppEnv } from './context';
import { auth, callLog, config } from './middleware';
import { countTokens, messages } from './routes/messages';
import { getModel, listModels } from './routes/models';
import { passthrough, passthroughEntry } from './routes/passthrough';
import { proxy } from './routes/proxy';
import { responses } from './routes/responses';
import { deleteResponse, getResponse, listInputItems } from './routes/stored-responses';
import type { Context } from 'hono';

/**
 * The gateway's HTTP surface. Middleware order (outermost first): call log (so
 * rejected calls are logged too) → config → auth (/v1, and passthrough routes) → route.
 * `onError` is the only place an error becomes a response.
 */
export const app = new Hono<AppEnv>();

// The dashboard and admin API (src/admin/) answer before the call log: they are not calls.
app.route('/', admin);
app.use('*', callLog, config);
// Anthropic's clients read every error in Anthropic's shape, auth errors included.
app.use('/v1/messages/*', async (c, next) => {
  c.set('format', anthropicFormat(c.get('record').requestId));
  await next();
});
app.use('/v1/*', auth);

app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/v1/chat/completions', proxy('chat.completions'));
app.post('/v1/completions', proxy('completions'));
app.post('/v1/embeddings', proxy('embeddings'));
app.post('/v1/responses', responses);
app.get('/v1/responses/:id', getResponse);
app.delete('/v1/responses/:id', deleteResponse);
app.get('/v1/responses/:id/input_items', listInputItems);
app.post('/v1/messages', messages);
app.post('/v1/messages/count_tokens', countTokens);
app.get('/v1/models', listModels);
app.get('/v1/models/*', getModel);

const METHODS: Record<string, string> = {
  '/healthz': 'GET, HEAD',
  '/v1/chat/completions': 'POST',
  '/v1/completions': 'POST',
  '/v1/embeddings': 'POST',
  '/v1/responses': 'POST',
  '/v1/responses/:id': 'GET, HEAD, DELETE',
  '/v1/responses/:id/input_items': 'GET, HEAD',
  '/v1/messages': 'POST',
  '/v1/messages/count_tokens': 'POST',
  '/v1/models': 'GET, HEAD',
  '/v1/models/*': 'GET, HEAD',
};
for (const [path, allow] of Object.entries(METHODS)) {
  app.all(path, (c) => {
    throw new GatewayError('method_not_allowed', `Method ${c.req.method} is not allowed on ${c.req.path}; use ${allow}`, {
      headers: { allow },
    });
  });
}

// Last: `/{provider}/…` is provider-native passthrough for any path no route above took.
app.all('/:provider/*', passthroughEntry, auth, passthrough);

function handleError(error: unknown, c: Context<AppEnv>): Response {
  const record = c.get('record');
  const gatewayError = asGatewayError(error, record?.requestId ?? 'unknown');
  if (gatewayError !== error) console.error(`request ${record?.requestId}:`, error);
  if (record) record.errorCode = gatewayError.code;
  if (record && gatewayError.code === 'client_closed') record.status = 499;
  // A limited key's every answer carries its rate-limit headers, errors included.
  const format = c.get('format');
  return (format ? format.errorResponse : errorResponse)(gatewayError, c.get('admission')?.headers);
}

app.notFound((c) =>
  handleError(new GatewayError('unknown_url', `Invalid URL (${c.req.method} ${c.req.path})`), c),
);
app.onError(handleError);
