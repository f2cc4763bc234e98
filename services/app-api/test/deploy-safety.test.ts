// Nothing local-only reaches a cluster: `archipelago synth` of this service (YAML through the real
// CLI, and the Pulumi component on Pulumi's own mocks) leaves out the units that create known
// credentials, says so, and no synthesised object or the code of any synthesised unit holds one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadService } from 'archipelago-toolkit';
import { ArchipelagoService } from 'archipelago-toolkit/pulumi';
import * as credentials from '../src/domain/demo-credentials.js';
import { ARCHIPELAGO_BIN, SERVICE_ROOT } from './support/context.js';

const BIN = ARCHIPELAGO_BIN;
const CONFIG = path.join(SERVICE_ROOT, 'archipelago.config.ts');
const CREDENTIALS_MODULE = path.join(SERVICE_ROOT, 'src/domain/demo-credentials.ts');
const KNOWN = Object.values(credentials);
const LOCAL_ONLY = ['demo-seed', 'seed'];

type Obj = { kind: string; metadata?: { name?: string; labels?: Record<string, string> } };

/** Every string anywhere in a value (keys too: a credential must not hide in a key either). */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push(k); strings(x, out); }
  return out;
}

/** The service's own files a module reaches through relative imports (the code its unit runs). */
function moduleGraph(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const text = readFileSync(entry, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const file = path.resolve(path.dirname(entry), m[1]!).replace(/\.js$/, '.ts');
    if (existsSync(file)) moduleGraph(file, seen);
  }
  return seen;
}

const { service } = await loadService(CONFIG);
const entries = new Map(service.units.flatMap((u) => (u.entryPath ? [[u.name, u.entryPath] as const] : [])));

/** What no deployed environment may hold: a known credential in an object, or a unit whose code knows one. */
function expectNoCredential(objects: readonly Obj[]): void {
  expect(objects.length).toBeGreaterThan(10);
  const components = new Set(objects.map((o) => o.metadata?.labels?.['app.kubernetes.io/component']).filter((c): c is string => !!c));
  for (const unit of LOCAL_ONLY) expect([...components]).not.toContain(unit);
  for (const o of objects) {
    for (const s of strings(o)) {
      for (const c of KNOWN) expect(s === c || (c.length > 8 && s.includes(c)), `${o.kind}/${o.metadata?.name}: "${s}"`).toBe(false);
    }
  }
  for (const unit of components) {
    const entry = entries.get(unit);
    if (!entry) continue; // the cdc relay is built in
    const graph = moduleGraph(entry);
    expect([...graph], `unit "${unit}" reaches the demo credentials`).not.toContain(CREDENTIALS_MODULE);
    for (const file of graph) expect(readFileSync(file, 'utf8'), file).not.toContain(`'${credentials.DEMO_PASSWORD}'`);
  }
}

describe('archipelago synth of app-api', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'app-api-synth-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('leaves out every local-only unit, says so, and no object holds a known credential', () => {
    // The credentials' own module is what the scan looks for: it must exist and be used locally.
    expect(moduleGraph(entries.get('demo-seed')!)).toContain(CREDENTIALS_MODULE);
    const r = spawnSync(process.execPath, [BIN, 'synth', '--config', CONFIG, '--out', out, '--image', 'ghcr.io/acme/app-api:1.0.0', '--environment', 'production'],
      { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const unit of LOCAL_ONLY) expect(r.stdout).toContain(`left out unit "${unit}" (localOnly)`);
    const files = readdirSync(out);
    for (const unit of LOCAL_ONLY) expect(files).not.toContain(`${unit}.yaml`);
    const kustomization = readFileSync(path.join(out, 'kustomization.yaml'), 'utf8');
    for (const unit of LOCAL_ONLY) expect(kustomization).toContain(`# Left out: unit "${unit}" (localOnly)`);
    const objects = files.filter((f) => f !== 'kustomization.yaml')
      .flatMap((f) => parseAllDocuments(readFileSync(path.join(out, f), 'utf8')).map((d) => d.toJS() as Obj));
    expect(objects.some((o) => o.kind === 'Job' && o.metadata?.name?.startsWith('app-api-migrate-'))).toBe(true);
    expectNoCredential(objects);
  });
});

describe('the Pulumi component of app-api', () => {
  const created: Obj[] = [];
  beforeAll(async () => {
    await pulumi.runtime.setMocks({
      newResource(args) {
        if (args.inputs?.kind) created.push(args.inputs as Obj);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args) { return args.inputs; },
    }, 'deploy-safety', 'production', false);
  });

  it('creates no local-only unit, reports what it left out, and no resource holds a known credential', async () => {
    const component = new ArchipelagoService('app', { config: CONFIG, image: 'ghcr.io/acme/app-api:1.0.0', namespace: 'app-api', environment: 'production' });
    const { resources, omitted } = await component.ready;
    await new Promise((resolve) => pulumi.all(resources.map((r) => r.urn)).apply(resolve));
    expect(omitted.map((o) => `${o.unit} (${o.reason})`).sort()).toEqual(LOCAL_ONLY.map((u) => `${u} (localOnly)`).sort());
    expect(created.length).toBe(resources.length);
    expectNoCredential(created);
  });
});
