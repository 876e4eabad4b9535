// A fast local OpenAI-compatible upstream: POST .../chat/completions answers at once,
// JSON or (with "stream": true) an SSE stream of CHUNKS content chunks, a finish chunk,
// a usage chunk and [DONE]. Runs in its own process so its CPU is neither the client's nor a target's.
// Prints {"port": N} on stdout once listening on 127.0.0.1 (port 0: the kernel picks).
import { createServer } from 'node:http';

export const CHUNKS = 20;
const usage = { prompt_tokens: 5, completion_tokens: CHUNKS, total_tokens: 5 + CHUNKS };

function chunk(model, delta, finish = null, extra = {}) {
  const choice = { index: 0, delta, finish_reason: finish };
  return `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model, choices: [choice], ...extra })}\n\n`;
}

function stream(res, model, withUsage) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const frames = [chunk(model, { role: 'assistant', content: 'tok0 ' })];
  for (let i = 1; i < CHUNKS; i++) frames.push(chunk(model, { content: `tok${i} ` }));
  frames.push(chunk(model, {}, 'stop'));
  if (withUsage) frames.push(`data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model, choices: [], usage })}\n\n`);
  frames.push('data: [DONE]\n\n');
  // One write per frame, each on its own turn of the loop: separate socket writes, no delay.
  let i = 0;
  const next = () => {
    if (i === frames.length - 1) return res.end(frames[i]);
    res.write(frames[i++]);
    setImmediate(next);
  };
  next();
}

const server = createServer((req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
    }
    let body;
    try { body = JSON.parse(raw); } catch { res.writeHead(400); return res.end('{"error":{"message":"bad json"}}'); }
    const model = body.model ?? 'm';
    if (body.stream) return stream(res, model, true);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'benchmark answer' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
// Ends with its parent: stdin closes when the bench exits, however it exits.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
