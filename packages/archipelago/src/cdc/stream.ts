// One replication session: reads pgoutput from the slot, turns row changes into messages,
// publishes them in commit order and confirms a log position only once the broker holds every
// change up to it. A session ends when its connection does; the relay starts a new one.
import net from 'node:net';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Logger } from 'pino';
import type { Broker, OutgoingMessage } from '../messaging/broker.js';
import { TRACE_MESSAGE_PREFIX } from '../database/pool.js';
import { changeTopicName } from '../messaging/names.js';
import { contextOf, headersOf, SpanKind, trace, tracer, type Span } from '../tracing/spans.js';
import { formatLsn, parseLsn } from './lsn.js';
import type { WatchedTable } from './prepare.js';
import type { ChangeOp, RowChange } from './change-topics.js';

export interface SessionOptions {
  readonly databaseUrl: string;
  readonly unit: string;
  readonly slot: string;
  readonly publication: string;
  readonly tables: readonly WatchedTable[];
  readonly broker: Broker;
  readonly logger: Logger;
  /** The slot's confirmed position when the session starts. */
  readonly confirmedLsn: bigint;
  /** Messages per broker call; a long transaction is published in chunks of this size. */
  readonly batchSize?: number;
  /** Unpublished messages at which reading pauses (and resumes below half). */
  readonly highWater?: number;
  readonly onRelayed?: (count: number) => void;
  /** Resolves while this relay still holds the lead; rejects once it lost it. Awaited before every publish. */
  readonly fence?: () => Promise<void>;
  /** Ask pgoutput for logical decoding messages (trace context); needs PostgreSQL 14 or later. */
  readonly messages?: boolean;
}

interface Item {
  readonly messages: { topic: string; message: OutgoingMessage }[];
  /** The relay's PRODUCER spans of a traced transaction's changes, ended once the broker holds them. */
  readonly spans?: Span[];
  /** Set on a transaction's last item (its commit end) and on idle keepalives. */
  readonly endLsn?: bigint;
  readonly committedAt?: Date;
}

interface OpenTransaction {
  readonly commitLsn: string;
  readonly xid: number;
  readonly committedAt: Date;
  index: number;
  messages: { topic: string; message: OutgoingMessage }[];
  /** The writer's `traceparent`, from the transaction's logical decoding message (see database/pool.ts). */
  traceparent?: string;
}

// Timers stay referenced: while the relay waits for the broker or the server, nothing else may
// keep the process alive, and it must not quietly exit.
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for `p` at most `ms`, without leaving a timer behind. */
export async function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise<void>((r) => { t = setTimeout(r, ms); })]);
  clearTimeout(t);
}

/** Row values as JSON keeps them: dates as ISO strings, byte arrays as hex. */
function plain(row: Record<string, unknown> | null | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = v instanceof Date ? v.toISOString() : Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v;
  }
  return out;
}

/**
 * One PRODUCER span per change of a traced transaction, a child of the writer's span: the change's
 * message carries the relay span's context, so its consumers join the writer's trace. A change of
 * a transaction that carried no trace context gets no span (bulk writes would flood the traces).
 */
function traceChanges(messages: { topic: string; message: OutgoingMessage }[], traceparent: string, slot: string): { messages: { topic: string; message: OutgoingMessage }[]; spans: Span[] } {
  const parent = contextOf({ traceparent });
  const spans: Span[] = [];
  const out = messages.map(({ topic, message }) => {
    const change = message.payload as RowChange<Record<string, unknown>>;
    const span = tracer().startSpan(`publish ${topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.operation.type': 'send', 'messaging.destination.name': topic, 'messaging.message.id': message.id,
        'archipelago.cdc.table': change.table, 'archipelago.cdc.op': change.op, 'archipelago.cdc.lsn': change.lsn, 'archipelago.cdc.slot': slot,
      },
    }, parent);
    spans.push(span);
    const headers = headersOf(trace.setSpan(parent, span));
    return { topic, message: headers ? { ...message, headers } : message };
  });
  return { messages: out, spans };
}

export class ReplicationSession {
  readonly #o: SessionOptions;
  readonly #service: LogicalReplicationService;
  readonly #batchSize: number;
  readonly #highWater: number;
  #socket: net.Socket | undefined;
  #started = false;
  #ended = false;
  #paused = false;
  #queue: Item[] = [];
  #pending = 0;
  #working: Promise<void> | undefined;
  #open: OpenTransaction | undefined;
  #tables = new Map<number, WatchedTable | null>();
  #statusTimer: NodeJS.Timeout | undefined;
  #publishFailures = 0;
  #lastReceived = Date.now();
  confirmed: bigint;

  constructor(o: SessionOptions) {
    this.#o = o;
    this.confirmed = o.confirmedLsn;
    this.#batchSize = o.batchSize ?? 500;
    this.#highWater = o.highWater ?? 5000;
    this.#service = new LogicalReplicationService(
      {
        connectionString: o.databaseUrl,
        application_name: `archipelago-cdc-${o.unit}`,
        connectionTimeoutMillis: 10_000,
        // Holding the socket lets the session stop reading while the broker is behind.
        stream: () => (this.#socket = new net.Socket()),
      },
      // Confirming is ours alone: only positions the broker has accepted.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
  }

  /** Commit time of the oldest change received but not yet accepted by the broker. */
  get oldestUnconfirmed(): Date | undefined {
    return this.#open?.committedAt ?? this.#queue.find((i) => i.committedAt)?.committedAt;
  }

  /** Streams until the connection ends; rejects with the reason it ended. */
  async run(): Promise<void> {
    const failed = new Promise<never>((_, reject) => this.#service.on('error', reject));
    failed.catch(() => {});
    this.#service.on('start', () => {
      this.#started = true;
      this.#statusTimer = setInterval(() => {
        // The server sends a keepalive at least every wal_sender_timeout / 2; silence far longer
        // than that means a half-open connection, which only a new one can fix.
        if (!this.#paused && Date.now() - this.#lastReceived > 120_000) {
          this.#socket?.destroy(new Error('no message from the server for 120 s'));
          return;
        }
        this.#sendStatus();
      }, 5000).unref();
    });
    this.#service.on('data', (lsn: string, msg: Pgoutput.Message) => this.#onData(lsn, msg));
    this.#service.on('heartbeat', (lsn: string, _ts: number, reply: boolean) => this.#onKeepalive(lsn, reply));
    // `messages` (PostgreSQL 14+) adds logical decoding messages to the stream: the trace context
    // a traced transaction emitted (see database/pool.ts).
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.#o.publication], messages: this.#o.messages ?? false });
    try {
      await Promise.race([this.#service.subscribe(plugin, this.#o.slot, formatLsn(this.confirmed)), failed]);
      if (!this.#ended) throw new Error('the replication stream ended');
    } finally {
      this.#ended = true;
      clearInterval(this.#statusTimer);
    }
  }

  /** Stops reading, lets queued changes reach the broker for up to `graceMs`, then disconnects. */
  async close(graceMs = 0): Promise<void> {
    this.#pause();
    if (graceMs > 0 && this.#working) {
      await atMost(this.#drained(), graceMs);
    }
    this.#ended = true;
    clearInterval(this.#statusTimer);
    // Ending a connection the server already dropped can wait forever; do not let it hold us.
    await atMost(this.#service.destroy(), 2000);
    // An in-flight publish finishes (or fails) before a new session may publish the same changes.
    await this.#working?.catch(() => {});
    // Changes left unpublished are replayed by the next session, under spans of their own.
    for (const item of this.#queue) for (const span of item.spans ?? []) { span.setAttribute('archipelago.cdc.unpublished', true); span.end(); }
  }

  async #drained(): Promise<void> {
    while (this.#working && !this.#ended) await this.#working.catch(() => {});
  }

  #tableOf(relation: Pgoutput.MessageRelation): WatchedTable | null {
    let t = this.#tables.get(relation.relationOid);
    if (t === undefined) {
      t = this.#o.tables.find((w) => w.schema === relation.schema && w.name === relation.name) ?? null;
      this.#tables.set(relation.relationOid, t);
    }
    return t;
  }

  #onData(lsn: string, msg: Pgoutput.Message): void {
    this.#lastReceived = Date.now();
    if (this.#ended) return;
    switch (msg.tag) {
      case 'relation':
        // A new column arrives as a new Relation message; the parser decodes later rows with it.
        this.#tables.delete(msg.relationOid);
        return;
      case 'begin':
        this.#open = {
          commitLsn: formatLsn(parseLsn(msg.commitLsn ?? lsn)), xid: msg.xid, index: 0, messages: [],
          committedAt: new Date(Number((msg.commitTime as bigint) / 1000n)),
        };
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const tx = this.#open;
        const table = this.#tableOf(msg.relation);
        if (!tx || !table) return;
        const before = msg.tag === 'insert' ? undefined : plain(msg.old ?? msg.key);
        const after = msg.tag === 'delete' ? undefined : plain(msg.new);
        const change: RowChange<Record<string, unknown>> = {
          table: table.declared, op: msg.tag as ChangeOp, lsn: formatLsn(parseLsn(lsn)), committedAt: tx.committedAt.toISOString(), xid: tx.xid,
          ...(before ? { before } : {}), ...(after ? { after } : {}),
        };
        tx.messages.push({
          topic: changeTopicName(this.#o.unit, table.declared),
          message: { id: `${tx.commitLsn}:${tx.index++}`, payload: change, publishedAt: tx.committedAt },
        });
        // A long transaction goes out in chunks: it is committed already, only unconfirmed.
        if (tx.messages.length >= this.#batchSize) {
          this.#enqueue({ messages: tx.messages, committedAt: tx.committedAt });
          tx.messages = [];
        }
        return;
      }
      case 'message': {
        const tx = this.#open;
        if (tx && msg.transactional && msg.prefix === TRACE_MESSAGE_PREFIX) tx.traceparent = Buffer.from(msg.content).toString('utf8');
        return;
      }
      case 'commit': {
        const tx = this.#open;
        this.#open = undefined;
        if (!tx) return;
        const traced = tx.traceparent ? traceChanges(tx.messages, tx.traceparent, this.#o.slot) : undefined;
        this.#enqueue({ messages: traced?.messages ?? tx.messages, spans: traced?.spans, endLsn: parseLsn(msg.commitEndLsn ?? lsn), committedAt: tx.committedAt });
        return;
      }
      default:
        return;
    }
  }

  #onKeepalive(lsn: string, reply: boolean): void {
    this.#lastReceived = Date.now();
    if (this.#ended) return;
    // Between transactions every change before the keepalive has been received, so its position
    // may be confirmed once what is queued is published: the slot then stops holding idle WAL.
    if (!this.#open) {
      const at = parseLsn(lsn);
      const last = this.#queue.at(-1);
      if (this.#queue.length === 0 && !this.#working) {
        if (at > this.confirmed) this.confirmed = at;
      } else if (!last?.endLsn || at > last.endLsn) {
        this.#enqueue({ messages: [], endLsn: at });
      }
    }
    if (reply) this.#sendStatus();
  }

  #enqueue(item: Item): void {
    this.#queue.push(item);
    this.#pending += item.messages.length;
    if (this.#pending >= this.#highWater) this.#pause();
    this.#kick();
  }

  #kick(): void {
    if (this.#working || this.#ended) return;
    this.#working = this.#work().finally(() => {
      this.#working = undefined;
      // An item queued while the loop was finishing still needs a worker.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  #pause() {
    if (!this.#paused) { this.#paused = true; this.#socket?.pause(); }
  }

  #resume() {
    if (this.#paused && !this.#ended) { this.#paused = false; this.#lastReceived = Date.now(); this.#socket?.resume(); }
  }

  async #work(): Promise<void> {
    while (this.#queue.length > 0 && !this.#ended) {
      // Several transactions go out in one call per topic when they are queued together.
      const take: Item[] = [];
      let n = 0;
      for (const item of this.#queue) {
        if (take.length > 0 && n + item.messages.length > this.#batchSize * 4) break;
        take.push(item);
        n += item.messages.length;
      }
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const item of take) {
        for (const { topic, message } of item.messages) {
          let list = byTopic.get(topic);
          if (!list) byTopic.set(topic, (list = []));
          list.push(message);
        }
      }
      if (!(await this.#publish(byTopic))) return;
      for (const item of take) for (const span of item.spans ?? []) span.end();
      this.#queue.splice(0, take.length);
      this.#pending -= n;
      let end: bigint | undefined;
      for (const item of take) if (item.endLsn !== undefined) end = item.endLsn;
      if (n > 0) this.#o.onRelayed?.(n);
      if (end !== undefined && end > this.confirmed) {
        this.confirmed = end;
        this.#sendStatus();
      }
      if (this.#pending < this.#highWater / 2) this.#resume();
    }
  }

  /** Publishes until the broker accepts every topic's batch; false when the session ended first. */
  async #publish(byTopic: Map<string, OutgoingMessage[]>): Promise<boolean> {
    let left = [...byTopic];
    let delay = 100;
    while (left.length > 0) {
      if (this.#ended) return false;
      if (this.#o.fence) {
        try {
          await this.#o.fence();
        } catch (e) {
          // Another relay may be streaming these changes now: ours must not reach the broker.
          this.#o.logger.warn({ err: (e as Error).message }, 'lost the lead; publishing nothing more');
          this.#ended = true;
          this.#socket?.destroy(new Error('lost the lead'));
          return false;
        }
        if (this.#ended) return false;
      }
      const results = await Promise.allSettled(left.map(([topic, messages]) => this.#o.broker.publish(topic, messages)));
      const failed = left.filter((_, i) => results[i]!.status === 'rejected');
      if (failed.length === 0) {
        if (this.#publishFailures > 0) this.#o.logger.info({ failures: this.#publishFailures }, 'broker accepts changes again; relaying resumes');
        this.#publishFailures = 0;
        return true;
      }
      const reason = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as Error;
      if (this.#publishFailures++ % 10 === 0) {
        this.#o.logger.warn({ err: reason?.message, retryInMs: delay }, 'broker refused changes; reading paused, slot kept, retrying');
      }
      // The stream stays paused (the queue is full) while the broker is away; the slot keeps WAL.
      this.#pause();
      left = failed;
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
    return true;
  }

  #sendStatus(): void {
    if (!this.#started || this.#ended || this.confirmed <= 0n) return;
    // The client reports position + 1 (the next byte it wants); PostgreSQL's own subscribers
    // report the commit end itself, so hand it one less.
    this.#service.acknowledge(formatLsn(this.confirmed - 1n)).catch(() => {});
  }
}
