// The console of a real `archipelago up` in a real browser: every unit, a cron run, a job run, a
// dead letter replayed and handled, a scale decision on the worker's chart, and the token guard.
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { copyFixture, freePort, killGroup, removeDir, startUp, waitFor, type Running } from '../supervisor/helpers.js';
import { chromiumMissing, launchChromium } from './chromium.js';

const skip = chromiumMissing();
// Each replica and run is a fresh TypeScript process: slow on a busy two-core machine.
const LONG = 90_000;

describe.skipIf(skip !== undefined)('console of archipelago up', () => {
  let sup: Running | undefined;
  let dir: string | undefined;
  let webPort: number;
  let databaseUrl: string;
  let consoleUrl: string;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    dir = copyFixture('console');
    webPort = await freePort();
    databaseUrl = await createTestDatabase('console');
    sup = startUp(dir, ['--console-port', '0'], { DATABASE_URL: databaseUrl, FIXTURE_PORT: String(webPort) });
    consoleUrl = await waitFor('the console URL', () => /console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(sup!.output())?.[1], 200_000);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(consoleUrl);
    await page.waitForSelector('body[data-ready="true"]');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    killGroup(sup?.pid);
    removeDir(dir);
  });

  const post = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${webPort}${path}`, { method: 'POST' });
    expect(res.status).toBe(200);
    return res.json() as Promise<unknown>;
  };

  it('shows every unit of the service with its kind', async () => {
    for (const [name, kind] of [['setup', 'job'], ['web', 'api'], ['mailer', 'worker'], ['tick', 'cron'], ['report', 'job']]) {
      await page.waitForSelector(`#map tr[data-unit="${name}"][data-kind="${kind}"]`);
    }
    await page.waitForSelector('#map tr[data-unit="web"] [data-health="healthy"]', { timeout: LONG });
    expect(await page.textContent('#map tr[data-unit="mailer"] .replicas')).toContain('(0–3)');
  }, LONG + 10_000);

  it('marks a scale decision on the worker chart during a burst', async () => {
    await post('/poison?n=7');
    await post('/publish?n=30');
    const marker = await page.waitForSelector('.unit-charts[data-unit="mailer"] [data-chart="replicas"] .decision-marker', { timeout: LONG });
    expect(await marker.getAttribute('title')).toMatch(/0 → [1-3]: .*backlog/);
    await page.waitForSelector('.unit-charts[data-unit="mailer"] [data-chart="backlog"]');
  }, LONG + 10_000);

  it('runs a cron now and a job, and shows their runs', async () => {
    // Both at once: each run is a fresh process, the slowest step of this file.
    await page.click('button[data-action="run-cron"][data-unit="tick"]');
    await page.click('button[data-action="run-job"][data-unit="report"]');
    await page.waitForSelector('[data-runs="tick"] li[data-status="succeeded"]', { timeout: LONG });
    await page.waitForSelector('[data-runs="report"] li[data-status="succeeded"]', { timeout: LONG });
    await page.waitForSelector('#logs .log[data-unit="tick"]:has-text("tick ran")');
  }, LONG + 10_000);

  it('inspects a dead letter, replays it once fixed, and sees it handled', async () => {
    const row = '#topics tr[data-sub="mailer-send"]';
    await page.waitForSelector(`${row} td.dead:text-is("1")`, { timeout: LONG });
    await page.click(`${row} button.inspect`);
    await page.waitForSelector('.dlq-detail .last-error:has-text("poison message 7 cannot be sent")');
    expect(await page.textContent('.dlq-detail .payload')).toContain('"poison": true');
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try { await db.query('INSERT INTO console_fixes (n) VALUES (7)'); } finally { await db.end(); }
    await page.click('.dlq-detail button[data-action="replay"]');
    await page.waitForSelector('#logs .log[data-unit="mailer"]:has-text("handled poison message 7 on replay")', { timeout: LONG });
    await page.waitForSelector(`${row} td.dead:text-is("0")`);
  }, 2 * LONG);

  it('refuses an action sent without the token', async () => {
    const status = await page.evaluate(async () => (await fetch('/api/crons/tick/run', { method: 'POST' })).status);
    expect(status).toBe(401);
    const runs = await page.locator('[data-runs="tick"] li').count();
    expect(runs).toBe(1);
  });
});
