// The realtime host: WebSocket connections on the definition's path beside the shared HTTP setup,
// with channels, limits, heartbeats, broadcasts from other replicas and a polite drain.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, Gauge } from 'prom-client';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Messaging } from '../messaging/messaging.js';
import { activeSpan, SpanKind, tracer } from '../tracing/spans.js';
import type { ResolvedRealtimeUnit } from '../service/types.js';
import type { OwnedContext } from './context.js';
import type { Connection, RealtimeDefinition, RealtimeHub } from './define.js';
import { createHttpApp, idleBy, listen } from './http.js';
import { Meter } from './process-metrics.js';
import type { Host, Replica } from './replica.js';
import { METRICS } from '../contracts.js';

/** Connections pinged per turn of the event loop during a heartbeat sweep. */
const PING_SLICE = 500;

/** Close code for "the server is restarting; reconnect" (RFC 6455 §7.4.1 registry: 1012 Service Restart). */
export const CLOSE_RESTART = 1012;
const CLOSE_POLICY = 1008;

function rejectUpgrade(socket: Duplex, status: number, reason: string, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

class Hub implements RealtimeHub {
  readonly all = new Set<Conn>();
  readonly channels = new Map<string, Set<Conn>>();
  get connections(): number { return this.all.size; }
  publish(channel: string, data: unknown): number {
    const members = this.channels.get(channel);
    // A send made while handling traced work (a broadcast's receive) is a span of that trace.
    const span = activeSpan() && tracer().startSpan('websocket send', { kind: SpanKind.PRODUCER, attributes: { 'archipelago.ws.channel': channel } });
    let n = 0;
    if (members) {
      // Serialised once for every member.
      const frame = typeof data === 'string' ? data : JSON.stringify(data);
      for (const c of members) if (c.sendRaw(frame)) n++;
    }
    if (span) { span.setAttribute('archipelago.ws.recipients', n); span.end(); }
    return n;
  }
}

class Conn implements Connection<unknown> {
  readonly id = randomUUID();
  readonly channels = new Set<string>();
  alive = true;
  constructor(readonly principal: unknown, readonly socket: WebSocket, private readonly hub: Hub,
    private readonly limits: RealtimeDefinition['limits'], private readonly onSlow: (c: Conn) => void) {}

  send(data: unknown): boolean {
    return this.sendRaw(typeof data === 'string' ? data : JSON.stringify(data));
  }

  sendRaw(frame: string): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false;
    // A client that does not read would make us buffer without bound: drop it instead.
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.onSlow(this);
      return false;
    }
    this.socket.send(frame);
    return true;
  }

  join(channel: string): boolean {
    if (this.channels.has(channel)) return true;
    if (this.channels.size >= this.limits.maxChannels) return false;
    this.channels.add(channel);
    let members = this.hub.channels.get(channel);
    if (!members) this.hub.channels.set(channel, (members = new Set()));
    members.add(this);
    return true;
  }

  leave(channel: string): void {
    if (!this.channels.delete(channel)) return;
    const members = this.hub.channels.get(channel);
    members?.delete(this);
    if (members?.size === 0) this.hub.channels.delete(channel);
  }

  close(code = 1000, reason = ''): void {
    this.socket.close(code, reason);
  }
}

export async function startRealtimeHost(unit: ResolvedRealtimeUnit, def: RealtimeDefinition, ctx: OwnedContext, replica: Replica, messaging: Messaging | undefined): Promise<Host> {
  const meter = new Meter(ctx.metrics, 'http_requests');
  const app = createHttpApp(unit, ctx, replica, meter);
  if (def.routes) await def.routes(app, ctx);
  const hub = new Hub();
  const { limits } = def;
  const opened = new Counter({ name: 'archipelago_ws_connections_opened_total', help: 'WebSocket connections accepted', registers: [ctx.metrics] });
  const dropped = new Counter({ name: 'archipelago_ws_connections_dropped_total', help: 'WebSocket connections dropped by the server', labelNames: ['reason'], registers: [ctx.metrics] });
  const messagesIn = new Counter({ name: 'archipelago_ws_messages_received_total', help: 'WebSocket messages received', registers: [ctx.metrics] });
  new Gauge({ name: METRICS.wsConnections, help: 'Open WebSocket connections', registers: [ctx.metrics], collect() { this.set(hub.connections); } });
  let handled = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });

  const drop = (c: Conn, reason: 'slow' | 'dead') => {
    dropped.inc({ reason });
    ctx.logger.warn({ connection: c.id, reason, buffered: c.socket.bufferedAmount }, reason === 'slow' ? 'dropped a slow client' : 'dropped a dead peer');
    c.socket.terminate();
  };

  const accept = (ws: WebSocket, principal: unknown) => {
    const conn = new Conn(principal, ws, hub, limits, (c) => drop(c, 'slow'));
    hub.all.add(conn);
    opened.inc();
    ws.on('pong', () => { conn.alive = true; });
    ws.on('error', (e) => ctx.logger.debug({ err: e, connection: conn.id }, 'websocket error'));
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      messagesIn.inc();
      handled++;
      if (!def.onMessage) return;
      let data: unknown;
      try {
        data = isBinary ? raw : JSON.parse(raw.toString());
      } catch {
        conn.send({ type: 'error', error: { code: 'INVALID_JSON', message: 'messages must be JSON' } });
        return;
      }
      Promise.resolve().then(() => def.onMessage!(conn, data, hub, ctx)).catch((e: unknown) => {
        ctx.logger.error({ err: e, connection: conn.id }, 'onMessage failed');
      });
    });
    ws.once('close', () => {
      hub.all.delete(conn);
      for (const ch of [...conn.channels]) conn.leave(ch);
      try {
        def.onClose?.(conn, hub, ctx);
      } catch (e) {
        ctx.logger.error({ err: e, connection: conn.id }, 'onClose failed');
      }
    });
    Promise.resolve().then(() => def.onOpen?.(conn, hub, ctx)).catch((e: unknown) => {
      ctx.logger.error({ err: e, connection: conn.id }, 'onOpen failed');
      conn.close(CLOSE_POLICY, 'open failed');
    });
  };

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const path = (req.url ?? '/').split('?')[0];
    if (path !== def.path) return rejectUpgrade(socket, 404, 'Not Found', { error: { code: 'NOT_FOUND', message: `no WebSocket endpoint at ${path}` } });
    if (replica.draining) return rejectUpgrade(socket, 503, 'Service Unavailable', { error: { code: 'DRAINING', message: 'this replica is shutting down; retry on another' } });
    Promise.resolve().then(() => def.authenticate(req, ctx)).then((principal) => {
      if (principal === null || principal === undefined) return rejectUpgrade(socket, 401, 'Unauthorized', { error: { code: 'UNAUTHORIZED', message: 'authentication failed' } });
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, principal));
    }, (e: unknown) => {
      ctx.logger.error({ err: e }, 'authenticate failed');
      rejectUpgrade(socket, 500, 'Internal Server Error', { error: { code: 'INTERNAL', message: 'internal server error' } });
    });
  });

  // A peer that missed a whole interval of pings is gone (a dead NAT entry, a sleeping laptop).
  // The sweep pings PING_SLICE connections per turn of the event loop: one synchronous pass over
  // 18,000 sockets blocked the loop for ~0.4 s every interval, which was the p99 of a notification.
  let sweeping = false;
  let heartbeatStopped = false;
  const heartbeat = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    const conns = [...hub.all];
    let i = 0;
    const slice = () => {
      for (const end = Math.min(i + PING_SLICE, conns.length); i < end && !heartbeatStopped; i++) {
        const c = conns[i]!;
        if (!hub.all.has(c)) continue;
        if (!c.alive) { drop(c, 'dead'); continue; }
        c.alive = false;
        c.socket.ping();
      }
      if (i < conns.length && !heartbeatStopped) setImmediate(slice);
      else sweeping = false;
    };
    slice();
  }, limits.heartbeatMs);
  heartbeat.unref();
  const stopHeartbeat = () => { heartbeatStopped = true; clearInterval(heartbeat); };

  const stopBroadcasts = def.broadcasts.length === 0 ? async () => {} : await (async () => {
    if (!messaging) throw new Error(`unit "${unit.name}": broadcasts need messaging, which is not available`);
    return messaging.startBroadcasts(def.broadcasts.map((b) => ({ topic: b.topic, handler: (m: unknown, c) => b.handler(m, hub, c) })), ctx);
  })();

  const port = await listen(app, unit.port);
  ctx.logger.info({ port, path: def.path }, 'realtime listening');
  let closed: Promise<void> | undefined;

  return {
    unit: unit.name,
    port,
    ready: () => true,
    load: () => ({ inFlight: meter.inFlight, connections: hub.connections, handled: handled + meter.handled, ...meter.take() }),
    async drain(deadline) {
      stopHeartbeat();
      await stopBroadcasts().catch(() => {});
      // Spread reconnects over part of the grace so the other replicas are not hit all at once.
      const spread = Math.max(100, Math.min(5000, (deadline - Date.now()) / 2));
      const gone = [...hub.all].map((c) => new Promise<void>((resolve) => {
        if (c.socket.readyState === c.socket.CLOSED) return resolve();
        c.socket.once('close', () => resolve());
        c.send({ type: 'reconnect', afterMs: Math.round(Math.random() * spread) });
        c.close(CLOSE_RESTART, 'server restarting');
      }));
      const [socketsDone, httpDone] = await Promise.all([idleBy(Promise.all(gone).then(() => {}), deadline), idleBy(meter.whenIdle(), deadline)]);
      const cut: string[] = [];
      if (!socketsDone) {
        const left = [...hub.all];
        for (const c of left) c.socket.terminate();
        if (left.length) cut.push(`${left.length} connection${left.length === 1 ? '' : 's'}`);
      }
      if (!httpDone) cut.push(`${meter.inFlight} in-flight request${meter.inFlight === 1 ? '' : 's'}`);
      return cut;
    },
    close() {
      stopHeartbeat();
      closed ??= (async () => {
        for (const c of hub.all) c.socket.terminate();
        wss.close();
        await app.close();
      })();
      return closed;
    },
  };
}
