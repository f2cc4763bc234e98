// `archipelago up` over app-api's real units for end-to-end tests: a config of its own folder and
// free ports, the supervisor in its own process group (ended with the group), and a poller that
// shows the supervisor's output when it gives up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ARCHIPELAGO_BIN, SERVICE_ROOT } from './context.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

/**
 * A config of its own folder (control socket, outbox) and ports, over the service's real units;
 * returns its path. `name` renames the service: replication slots are named after the service and
 * belong to the whole server, so end-to-end files running at once need names of their own.
 */
export function writeAppConfig(dir: string, apiPort: number, livePort: number, name?: string): string {
  const configPath = path.join(dir, 'archipelago.config.ts');
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(configPath, `import base from ${JSON.stringify(path.join(SERVICE_ROOT, 'archipelago.config.ts'))};
const root = ${JSON.stringify(SERVICE_ROOT)};
export default { ...base, ${name ? `name: ${JSON.stringify(name)}, ` : ''}migrations: root + '/migrations', units: base.units.map((u: any) => ({
  ...u, ...(u.entry ? { entry: root + '/' + u.entry } : {}),
  ...(u.kind === 'api' ? { port: ${apiPort} } : u.kind === 'realtime' ? { port: ${livePort} } : {}),
})) };
`);
  return configPath;
}

export interface AppUp {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly configPath: string;
  /** Base URLs of the api and of the realtime unit's WebSocket. */
  readonly api: string;
  readonly live: string;
  output(): string;
  /** Polls `fn` until it returns something truthy; throws with the supervisor's output tail after `timeoutMs`. */
  until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number): Promise<T>;
  /** SIGTERM to the group, SIGKILL after 20 s, and the folder removed. */
  stop(): Promise<void>;
}

export async function startAppUp(opts: { prefix: string; args: readonly string[]; env: NodeJS.ProcessEnv; name?: string }): Promise<AppUp> {
  // Inside the repository (children resolve tsx from their working directory), ignored by git.
  mkdirSync(path.join(SERVICE_ROOT, '.archipelago'), { recursive: true });
  const dir = mkdtempSync(path.join(SERVICE_ROOT, '.archipelago', `${opts.prefix}-`));
  const [apiPort, livePort] = [await freePort(), await freePort()];
  const configPath = writeAppConfig(dir, apiPort, livePort, opts.name);
  const child = spawn(process.execPath, [ARCHIPELAGO_BIN, 'up', '--config', configPath, ...opts.args], { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const until = async <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> => {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`archipelago up exited with code ${child.exitCode} while waiting for ${what}\n${output.slice(-4000)}`);
      try {
        const v = await fn();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n--- supervisor output (tail) ---\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  return {
    child, dir, configPath, api: `http://127.0.0.1:${apiPort}`, live: `ws://127.0.0.1:${livePort}/live`,
    output: () => output, until,
    async stop() {
      if (child.pid && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(-child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
