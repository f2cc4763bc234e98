// Starts `archipelago run <unit>` as a real child process with an IPC channel, and collects its
// JSON log lines and supervisor messages for assertions.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReplicaMessage } from '../../src/units/ipc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = path.resolve(here, '../../bin/archipelago.js');

export interface ReplicaProcess {
  readonly child: ChildProcess;
  readonly messages: ReplicaMessage[];
  /** Parsed JSON log lines from stdout. */
  readonly logs: Record<string, any>[];
  stderr(): string;
  /** Resolves with the first message of that type (already received or future). */
  message<T extends ReplicaMessage['type']>(type: T, timeoutMs?: number): Promise<Extract<ReplicaMessage, { type: T }>>;
  /** Resolves with the first log line matching. */
  log(match: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

const live = new Set<ChildProcess>();

/** Kills every child still running; call from afterEach/afterAll. */
export function killAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  live.clear();
}

export function startReplica(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ReplicaProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = fork(BIN, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  live.add(child);
  const messages: ReplicaMessage[] = [];
  const logs: Record<string, any>[] = [];
  let err = '';
  const waiters = new Set<() => void>();
  const poke = () => { for (const w of waiters) w(); };
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try { logs.push(JSON.parse(line) as Record<string, any>); } catch { logs.push({ raw: line }); }
    }
    poke();
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; poke(); });
  child.on('message', (m: ReplicaMessage) => { messages.push(m); poke(); });
  const stdoutEnded = new Promise<void>((resolve) => child.stdout!.once('end', () => resolve()));
  // 'close' never comes once the parent has disconnected the IPC channel, so wait for 'exit' and
  // then, briefly, for the last log lines.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      void Promise.race([stdoutEnded, new Promise((r) => setTimeout(r, 1000))]).then(() => { poke(); resolve({ code, signal }); });
    });
  });
  const until = <T>(find: () => T | undefined, what: string, timeoutMs = 45_000) => new Promise<T>((resolve, reject) => {
    const check = () => {
      const v = find();
      if (v !== undefined) { done(); resolve(v); }
      else if (child.exitCode !== null || child.signalCode !== null) { done(); reject(new Error(`replica exited (${child.exitCode ?? child.signalCode}) before ${what}; stderr: ${err}; logs: ${JSON.stringify(logs.slice(-5))}`)); }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; stderr: ${err}`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
  return {
    child, messages, logs, exited,
    stderr: () => err,
    message: (type, t) => until(() => messages.find((m) => m.type === type) as any, `message ${type}`, t),
    log: (match, t) => until(() => logs.find(match), 'a matching log line', t),
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
  };
}
