// Saves a screenshot of the console (for docs/console.png). Either point it at a running console
//   npm run console:screenshot -- --url 'http://127.0.0.1:4000/?token=...'
// or let it start `archipelago up` in a service folder, press "run now" on a cron, and wait:
//   npm run console:screenshot -- --service services/app-api --run-cron digest --wait 20
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli/main.js';
import { launchChromium } from './chromium.js';

const BIN = fileURLToPath(new URL('../../bin/archipelago.js', import.meta.url));

async function startUp(service: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'up', '--console-port', String(port)], { cwd: resolve(service), stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`no console URL within 120 s; output so far:\n${out}`)), 120_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      process.stdout.write(c);
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m) { clearTimeout(timer); ok(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`archipelago up exited with ${code}`)); });
  });
  child.stdout!.resume();
  return { child, url };
}

async function main(): Promise<void> {
  const { opts } = parseArgs(process.argv.slice(2), { url: 'string', service: 'string', out: 'string', wait: 'string', 'run-cron': 'string', port: 'string', width: 'string', height: 'string' });
  const out = resolve(String(opts.out ?? 'docs/console.png'));
  let up: ChildProcess | undefined;
  let url = opts.url as string | undefined;
  if (!url) {
    if (!opts.service) throw new Error('give --url <console URL> or --service <folder with archipelago.config.ts>');
    ({ child: up, url } = await startUp(String(opts.service), Number(opts.port ?? 4010)));
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: Number(opts.width ?? 1600), height: Number(opts.height ?? 1000) }, deviceScaleFactor: 1 });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    if (opts['run-cron']) await page.click(`button[data-action="run-cron"][data-unit="${String(opts['run-cron'])}"]`);
    await page.waitForTimeout(Number(opts.wait ?? 5) * 1000);
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    console.log(`saved ${out}`);
  } finally {
    await browser.close();
    // up was started in its own process group: stop it and every replica it forked.
    if (up?.pid) { try { process.kill(-up.pid, 'SIGTERM'); } catch {} }
  }
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
