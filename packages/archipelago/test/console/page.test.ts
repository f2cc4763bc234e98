// The console page in a real browser against an in-memory source: every view renders and every
// action goes through the token-guarded API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleHandle } from '../../src/console/server.js';
import { chromiumMissing, launchChromium } from './chromium.js';
import { FIXTURE_TRACE, FixtureSource } from './fixture-source.js';

const skip = chromiumMissing();

describe.skipIf(skip !== undefined)('console page (fixture source)', () => {
  const source = new FixtureSource();
  let c: ConsoleHandle;
  let browser: Browser;
  let page: Page;
  let other: Server | undefined;

  beforeAll(async () => {
    c = await startConsole({ source, port: 0, print: null });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(c.url);
    await page.waitForSelector('body[data-ready="true"]');
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
    await new Promise<void>((r) => (other ? other.close(() => r()) : r()));
  });

  it('shows every unit with kind, health and replicas, and drops the token from the address bar', async () => {
    for (const name of ['web', 'mailer', 'nightly', 'backfill']) await page.waitForSelector(`#map tr[data-unit="${name}"]`);
    expect(await page.textContent('#map tr[data-unit="web"] .replicas')).toContain('1/1 (1–3)');
    expect(await page.getAttribute('#map tr[data-unit="mailer"] [data-health]', 'data-health')).toBe('idle');
    expect(page.url()).not.toContain('token');
  });

  it('lists the trace across units and opens its waterfall from a log line\'s trace link', async () => {
    const row = await page.waitForSelector(`#traces tr.trace[data-trace-id="${FIXTURE_TRACE}"]`);
    expect(await row.textContent()).toContain('POST /mail');
    expect(await row.textContent()).toContain('web → mailer');
    expect(await row.getAttribute('data-error')).toBe('true');
    await page.click(`#logs a.trace-link[data-trace-id="${FIXTURE_TRACE}"]`);
    await page.waitForSelector(`#waterfall[data-trace-id="${FIXTURE_TRACE}"] .span-row[data-unit="mailer"].error`);
    expect(await page.$$eval('#waterfall .span-row', (rows) => rows.map((r) => `${(r as HTMLElement).dataset.unit}:${(r as HTMLElement).dataset.kind}`))).toEqual(['web:server', 'mailer:consumer']);
  });

  it('runs a cron now and shows the run', async () => {
    await page.click('button[data-action="run-cron"][data-unit="nightly"]');
    await page.waitForSelector('[data-runs="nightly"] li[data-status="succeeded"]');
    expect(source.actions).toContain('cron nightly');
  });

  it('inspects a dead letter and replays it', async () => {
    await page.click('#topics tr[data-sub="mailer-send"] button.inspect');
    await page.waitForSelector('.dlq-detail[data-id="msg-1"]');
    expect(await page.textContent('.dlq-detail .last-error')).toBe('SMTP 550 mailbox unavailable');
    expect(await page.textContent('.dlq-detail .payload')).toContain('ada@example.com');
    await page.click('.dlq-detail button[data-action="replay"]');
    await page.waitForSelector('#logs .log[data-unit="mailer"]:has-text("handled msg-1 on replay")');
    await page.waitForSelector('#topics tr[data-sub="mailer-send"] td.dead:text-is("0")');
  });

  it('marks a scale decision on the worker chart with its reason', async () => {
    source.burst(35);
    const marker = await page.waitForSelector('.unit-charts[data-unit="mailer"] [data-chart="replicas"] .decision-marker');
    expect(await marker.getAttribute('title')).toContain('backlog 35 / target 10 per replica');
  });

  it('filters logs by unit and level', async () => {
    source.log('web', 'web-1', 'warn', 'slow request');
    await page.waitForSelector('#logs .log:has-text("slow request")');
    await page.selectOption('#log-level', 'warn');
    expect(await page.locator('#logs .log').count()).toBe(1);
    await page.selectOption('#log-level', 'trace');
    await page.selectOption('#log-unit', 'mailer');
    expect(await page.locator('#logs .log[data-unit="web"]').count()).toBe(0);
  });

  it('says so when the link carries a token from an earlier run', async () => {
    const stale = await browser.newPage();
    try {
      await stale.goto(`${c.origin}/?token=not-this-run`);
      await stale.waitForSelector('#conn:text-is("refused")');
      expect(await stale.textContent('#notice')).toContain('earlier run');
    } finally {
      await stale.close();
    }
  });

  it('refuses a POST from the page without the token, and one from another origin with it', async () => {
    const status = await page.evaluate(async () => (await fetch('/api/crons/nightly/run', { method: 'POST' })).status);
    expect(status).toBe(401);
    // Another local page that somehow knows the token still cannot act: its origin differs.
    other = createServer((_q, s) => { s.writeHead(200, { 'content-type': 'text/html' }); s.end('<p>other</p>'); });
    await new Promise<void>((r) => other!.listen(0, '127.0.0.1', () => r()));
    const evil = await browser.newPage();
    await evil.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
    const before = source.actions.length;
    const result = await evil.evaluate(async ([url, token]) => {
      try {
        const r = await fetch(`${url}/api/crons/nightly/run`, { method: 'POST', headers: { 'x-archipelago-token': token! }, mode: 'cors' });
        return r.status;
      } catch { return 'blocked'; }
    }, [c.origin, c.token]);
    await evil.close();
    expect(result).toBe('blocked');
    expect(source.actions.length).toBe(before);
  });
});
