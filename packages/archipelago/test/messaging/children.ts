// Starts fixture consumer processes and reads their line protocol; kills them all on cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/consumer.ts', import.meta.url));

export interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  waitFor(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();

export function startConsumer(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let stderr = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  const exited = new Promise<void>((r) => proc.once('exit', () => { live.delete(proc); for (const w of waiters) w(); r(); }));
  return {
    proc, lines,
    waitFor(pred, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit !== undefined) { waiters.delete(check); clearTimeout(t); resolve(hit); return; }
          if (proc.exitCode !== null || proc.signalCode !== null) { waiters.delete(check); clearTimeout(t); reject(new Error(`consumer exited (${proc.exitCode ?? proc.signalCode}): ${stderr}`)); }
        };
        const t = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out waiting for a line; stderr: ${stderr}`)); }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** Kills every consumer still running (afterEach/afterAll). */
export async function killAll(): Promise<void> {
  for (const p of [...live]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all([...live].map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)))));
}
