// Collects what the console shows (snapshots, metric history, logs, scale decisions, topics) from
// a ConsoleSource and fans it out to every open page over server-sent events.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HISTORY_MS, MetricHistory } from './metric-history.js';
import type { ConsoleEvent, ConsoleSource, LogLine, ScaleDecision, TopicView } from './source.js';
import { SECURITY_HEADERS } from './static.js';

const MAX_LOGS = 2000;
const HEARTBEAT_MS = 15_000;
const SNAPSHOT_EVERY_MS = 200;
const MAX_BUFFERED = 4 * 1024 * 1024;

export class ConsoleHub {
  readonly #source: ConsoleSource;
  readonly #history = new MetricHistory();
  readonly #clients = new Set<ServerResponse>();
  #logs: LogLine[] = [];
  #decisions: ScaleDecision[] = [];
  #topics: readonly TopicView[] = [];
  #topicsError: string | null = null;
  #unsubscribe: (() => void) | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #changePending = false;
  #stopped = false;

  readonly #token: string;

  constructor(source: ConsoleSource, token: string) {
    this.#source = source;
    this.#token = token;
    this.#logs = source.recentLogs().slice(-MAX_LOGS).map((l) => this.#redact(l));
    this.#decisions = [...source.recentDecisions()];
  }

  start(): void {
    this.#unsubscribe = this.#source.subscribe((e) => this.#onEvent(e));
    this.#heartbeat = setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
    void this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    clearTimeout(this.#pollTimer);
    clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.end();
    this.#clients.clear();
  }

  /** Everything a freshly opened page needs. */
  async state(): Promise<object> {
    return {
      snapshot: this.#source.snapshot(),
      history: this.#history.all(),
      logs: this.#logs,
      decisions: this.#decisions,
      topics: this.#topics,
      topicsError: this.#topicsError,
      windowMs: HISTORY_MS,
      now: Date.now(),
    };
  }

  stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY_HEADERS });
    this.#clients.add(res);
    req.on('close', () => this.#clients.delete(res));
    void this.state().then((s) => this.#send(res, 'state', s));
  }

  /** An action changed the supervisor's state: push a snapshot now rather than at the next poll. */
  changed(): void {
    this.#onEvent({ type: 'change' });
  }

  refreshTopics(): void {
    void this.#readTopics().then(() => this.#broadcast('topics', { topics: this.#topics, error: this.#topicsError }));
  }

  #onEvent(e: ConsoleEvent): void {
    if (this.#stopped) return;
    if (e.type === 'log') {
      const line = this.#redact(e.line);
      this.#logs.push(line);
      if (this.#logs.length > MAX_LOGS) this.#logs.splice(0, this.#logs.length - MAX_LOGS);
      this.#broadcast('log', line);
    } else if (e.type === 'decision') {
      this.#decisions.push(e.decision);
      const cutoff = Date.now() - HISTORY_MS;
      while (this.#decisions.length && this.#decisions[0]!.at < cutoff) this.#decisions.shift();
      this.#broadcast('decision', e.decision);
    } else if (!this.#changePending) {
      // Every replica's load report is a change; a few snapshots a second are plenty for a page.
      this.#changePending = true;
      const t = setTimeout(() => {
        this.#changePending = false;
        if (!this.#stopped) this.#broadcast('snapshot', this.#source.snapshot());
      }, SNAPSHOT_EVERY_MS);
      t.unref();
    }
  }

  // The console's own URL goes through the log: keep the token out of pages and screenshots.
  #redact(l: LogLine): LogLine {
    return l.msg.includes(this.#token) ? { ...l, msg: l.msg.replaceAll(this.#token, '<token>') } : l;
  }

  async #readTopics(): Promise<void> {
    try {
      this.#topics = await this.#source.topics();
      this.#topicsError = null;
    } catch (e) {
      // The broker may be briefly unreachable; keep showing the last known figures.
      this.#topicsError = (e as Error).message;
    }
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    try {
      const snapshot = this.#source.snapshot();
      const [load] = await Promise.all([
        Promise.resolve(this.#source.load()).catch(() => ({})),
        this.#readTopics(),
      ]);
      const at = Date.now();
      const samples = this.#history.record(at, snapshot, load, this.#topics);
      this.#broadcast('sample', { at, samples });
      // Count-downs (back-off, next cron run) move without a change event.
      this.#broadcast('snapshot', snapshot);
      this.#broadcast('topics', { topics: this.#topics, error: this.#topicsError });
    } catch {
      // A failed sample leaves a gap in the charts; the loop goes on.
    }
    if (!this.#stopped) {
      this.#pollTimer = setTimeout(() => void this.#poll(), this.#source.pollingMs ?? 1000);
      this.#pollTimer.unref();
    }
  }

  #broadcast(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    this.#write(frame);
  }

  #write(frame: string): void {
    for (const c of this.#clients) {
      // A page that stopped reading (a suspended tab) must not grow our memory; it reconnects later.
      if (c.writableLength > MAX_BUFFERED) { c.destroy(); this.#clients.delete(c); continue; }
      c.write(frame);
    }
  }

  #send(res: ServerResponse, event: string, data: unknown): void {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
