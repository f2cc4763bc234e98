// A load-generator process for the `realtime` scenario: holds many idle authenticated WebSocket
// connections from one 127.0.0.x source address and records notification latencies (the event's
// `sentAt` stamp to arrival, same machine clock). Driven over IPC by the scenario.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

type Cmd = { cmd: 'open'; url: string; tokens: string[]; localAddress: string } | { cmd: 'report' } | { cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();
const sockets: WebSocket[] = [];
let latencies: number[] = [];
let closedEarly = 0;

function openOne(url: string, token: string, localAddress: string): Promise<WebSocket | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, localAddress, perMessageDeflate: false, handshakeTimeout: 60_000 });
    let open = false;
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type?: string; sentAt?: number };
      if (m.type === 'hello' && !open) { open = true; resolve(ws); }
      else if (typeof m.sentAt === 'number') latencies.push(now() - m.sentAt);
    });
    ws.on('error', () => { if (!open) resolve(null); });
    ws.on('close', () => { if (open) closedEarly++; else resolve(null); });
  });
}

process.on('message', (m: Cmd) => {
  void (async () => {
    if (m.cmd === 'open') {
      let failed = 0;
      // A bounded number of handshakes in flight: the server authenticates each with a query.
      for (let i = 0; i < m.tokens.length; i += 200) {
        const got = await Promise.all(m.tokens.slice(i, i + 200).map((t) => openOne(m.url, t, m.localAddress)));
        for (const ws of got) if (ws) sockets.push(ws); else failed++;
      }
      process.send!({ opened: sockets.length, failed });
    } else if (m.cmd === 'report') {
      process.send!({ latencies, open: sockets.length - closedEarly });
      latencies = [];
    } else {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
