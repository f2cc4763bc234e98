// Baseline for the `realtime` scenario: a bare `ws` server on PORT that keeps every connection
// (token read, not checked), greets it like the service, and on IPC sends `count` events at
// `rate` a second round-robin over its connections, each stamped with `sentAt`.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket } from 'ws';

const conns: WebSocket[] = [];
const server = createServer();
const wss = new WebSocketServer({ server, path: '/live', perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  conns.push(ws);
  ws.on('close', () => { const i = conns.indexOf(ws); if (i >= 0) conns.splice(i, 1); });
  ws.send(JSON.stringify({ type: 'hello', user: { token: (req.headers.authorization ?? '').length } }));
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send!({ listening: true }));

process.on('message', (m: { cmd: 'events'; rate: number; count: number }) => {
  const start = performance.now();
  let i = 0;
  const tick = () => {
    const due = Math.min(m.count, Math.floor(((performance.now() - start) * m.rate) / 1000) + 1);
    for (; i < due; i++) {
      const ws = conns[i % conns.length];
      ws?.send(JSON.stringify({ type: 'notification', id: String(i), kind: 'upvote', count: 1, sentAt: performance.timeOrigin + performance.now() }));
    }
    if (i < m.count) setTimeout(tick, 1);
    else process.send!({ sent: i });
  };
  tick();
});
process.on('disconnect', () => process.exit(0));
