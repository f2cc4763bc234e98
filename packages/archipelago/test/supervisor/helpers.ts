// Runs `archipelago up` as a child process on a copy of a fixture service, and finds what it left.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { control } from '../../src/supervisor/control.js';
import type { StatusSnapshot } from '../../src/supervisor/state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = path.resolve(here, '../../bin/archipelago.js');
const REPO = path.resolve(here, '../../../..');

/** A fresh copy of test/fixtures/<name> in a temporary folder that resolves `archipelago`. */
export function copyFixture(name = 'supervisor'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arch-sup-'));
  cpSync(path.resolve(here, '../fixtures', name), dir, { recursive: true });
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

export function emptyDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'arch-sup-'));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Running {
  child: ChildProcess;
  pid: number;
  dir: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Fast timings so tests see restarts and back-off quickly. */
export const FAST = { backoff: { initialMs: 300, maxMs: 5000, resetAfterMs: 60_000 }, probes: { readinessPeriodMs: 300, livenessPeriodMs: 500 }, pollingMs: 500 };

export function startUp(dir: string, args: string[], env: Record<string, string> = {}): Running {
  // Its own process group, so a test can look for survivors and kill everything at the end.
  // Parallel test files would fight over the console's port: off unless a test asks for one.
  const console = args.includes('--console-port') ? [] : ['--no-console'];
  const child = spawn(process.execPath, [BIN, 'up', ...console, ...args], {
    cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ARCHIPELAGO_SUPERVISOR: JSON.stringify(FAST), ...env },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, pid: child.pid!, dir, output: () => out, exited };
}

/** Every process whose process group is `pgid` (the supervisor's group when started detached). */
export function groupMembers(pgid: number): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') found.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
    } catch { /* the process ended while we looked */ }
  }
  return found;
}

/** A process's nice value, from /proc. */
export function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

export function killGroup(pgid: number | undefined): void {
  if (!pgid) return;
  try { process.kill(-pgid, 'SIGKILL'); } catch {}
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function status(dir: string): Promise<StatusSnapshot> {
  return control<StatusSnapshot>(dir, 'GET', '/status');
}

/** Runs one `archipelago` command to completion. */
export function cli(dir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export async function httpGet(port: number, p = '/'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`);
  return { status: res.status, body: await res.text() };
}

/**
 * `archipelago up --only <units>` on a copy of the supervisor fixture for a whole test file: a free
 * port for `web`, its own database, the process group killed after the file. Read the fields inside
 * tests (they are set by the file's `beforeAll`), do not destructure them.
 */
export function supervisedFixture(units: string, dbPrefix: string): { readonly dir: string; readonly port: number; readonly sup: Running } {
  let dir = '';
  let port = 0;
  let sup: Running | undefined;
  beforeAll(async () => {
    dir = copyFixture();
    port = await freePort();
    sup = startUp(dir, ['--only', units], { DATABASE_URL: await createTestDatabase(dbPrefix), FIXTURE_PORT: String(port) });
  });
  afterAll(() => {
    killGroup(sup?.pid);
    removeDir(dir);
  });
  return {
    get dir() { return dir; },
    get port() { return port; },
    get sup() {
      if (!sup) throw new Error('supervisedFixture: used before beforeAll');
      return sup;
    },
  };
}
