// Starts fixture processes (broker consumers, fault-schedule replicas) and reads their line
// protocol on stdout; kills them all by pid on cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CONSUMER = fileURLToPath(new URL('./fixtures/consumer.ts', import.meta.url));
const FAULT_REPLICA = fileURLToPath(new URL('./fixtures/fault-replica.ts', import.meta.url));

export interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  /** Resolves once the process has exited, whatever ended it. */
  readonly exited: Promise<void>;
  /** The last 4,000 characters the process wrote to stderr. */
  stderr(): string;
  /** Calls `fn` with every line from now on, as it arrives. */
  onLine(fn: (line: string) => void): void;
  /** Writes one line to the process's stdin (fault replicas only; a no-op once it has exited). */
  send(line: string): void;
  waitFor(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();

function startFixture(file: string, env: Record<string, string>, stdin: boolean): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env }, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  live.add(proc);
  // Writing to a process that just died raises EPIPE on the stream; its exit is handled elsewhere.
  proc.stdin?.on('error', () => {});
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const listeners: ((line: string) => void)[] = [];
  let buf = '';
  let stderr = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    for (const l of parts) for (const fn of listeners) fn(l);
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  // 'close' (not 'exit'): every line the process wrote has been read by then.
  const exited = new Promise<void>((r) => proc.once('close', () => { live.delete(proc); for (const w of waiters) w(); r(); }));
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  return {
    proc, lines, exited,
    stderr: () => stderr,
    onLine(fn) { listeners.push(fn); },
    send(line) { if (!gone() && proc.stdin?.writable) proc.stdin.write(`${line}\n`); },
    waitFor(pred, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit !== undefined) { waiters.delete(check); clearTimeout(t); resolve(hit); return; }
          if (gone()) { waiters.delete(check); clearTimeout(t); reject(new Error(`child exited (${proc.exitCode ?? proc.signalCode}): ${stderr}`)); }
        };
        const t = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out waiting for a line; stderr: ${stderr}`)); }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (!gone()) proc.kill(signal);
      await exited;
    },
  };
}

/** A consumer process (fixtures/consumer.ts) configured by `env`. */
export function startConsumer(env: Record<string, string>): Child {
  return startFixture(CONSUMER, env, false);
}

/** A fault-schedule replica process (fixtures/fault-replica.ts), driven through its stdin. */
export function startFaultReplica(env: Record<string, string>): Child {
  return startFixture(FAULT_REPLICA, env, true);
}

/** Kills every child still running (afterEach/afterAll); a frozen one is killed too. */
export async function killAll(): Promise<void> {
  for (const p of [...live]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all([...live].map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)))));
}
