// The OTLP/HTTP receiver `archipelago up` runs for its replicas: POST /v1/traces with JSON bodies
// (what @opentelemetry/exporter-trace-otlp-http sends) on a loopback port, into a TraceStore the
// console reads. Protobuf bodies are refused with 415: parsing them would need a protobuf runtime.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TraceStore, type OtlpExport } from './store.js';

const MAX_BODY = 16 * 1024 * 1024;

export interface TraceCollector {
  readonly store: TraceStore;
  /** What the replicas get as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startCollector(opts: { store?: TraceStore; host?: string } = {}): Promise<TraceCollector> {
  const store = opts.store ?? new TraceStore();
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => { void handle(req, res); });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/traces') return reply(res, 404, { error: `no route ${req.method} ${path}` });
    if (!/json/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      return reply(res, 415, { error: 'only OTLP/HTTP JSON is accepted here (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_BODY) return reply(res, 413, { error: 'export request too large' });
        chunks.push(c);
      }
      store.add(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
    } catch (e) {
      return reply(res, 400, { error: `not an OTLP/JSON export request: ${(e as Error).message}` });
    }
    reply(res, 200, {});
  }
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()); });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    store,
    endpoint: `http://${host}:${port}`,
    close: () => (closing ??= new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); })),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
