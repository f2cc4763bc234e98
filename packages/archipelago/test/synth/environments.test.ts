// `localOnly` and `environments`: synth leaves a unit out of environments it does not exist in and
// says so; `archipelago up` (the `local` environment) runs exactly the units that exist locally.
import { describe, expect, test } from 'vitest';
import { validateService, type UnitInput } from '../../src/service/index.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { runUnit } from '../../src/units/start.js';
import { omittedNote, synthesize, yamlFiles } from '../../src/synth/index.js';
import { FIXTURE_ROOT, options, referenceInput, referenceService } from './fixture.js';

const extra: UnitInput[] = [
  { name: 'demo-data', kind: 'job', entry: 'src/jobs/seed.ts', runOn: 'deploy', localOnly: true },
  { name: 'staging-only', kind: 'cron', entry: 'src/crons/cleanup.ts', schedule: '0 * * * *', environments: ['staging', 'local'] },
];
const withExtra = () => referenceService({ units: [...referenceInput().units, ...extra] });
const components = (objects: readonly { metadata?: { labels?: Record<string, string> } }[]) =>
  new Set(objects.map((o) => o.metadata?.labels?.['app.kubernetes.io/component']));

describe('synth', () => {
  test('leaves a localOnly unit out of every object and file, and lists it as omitted', () => {
    const result = synthesize(withExtra(), options);
    expect(components(result.objects).has('demo-data')).toBe(false);
    expect(result.objects.filter((o) => o.kind === 'Job').map((o) => o.metadata?.name)).toEqual([expect.stringMatching(/^app-api-provision-/), expect.stringMatching(/^app-api-migrate-/)]);
    expect(result.omitted).toEqual([
      { unit: 'demo-data', reason: 'localOnly' },
      { unit: 'staging-only', reason: 'environments: staging, local' },
    ]);
    const files = yamlFiles(result);
    expect([...files.keys()]).not.toContain('demo-data.yaml');
    expect(files.get('kustomization.yaml')).toContain(omittedNote(result));
    expect(omittedNote(result)).toContain('# Left out: unit "demo-data" (localOnly)');
    // The rest is exactly what the service without those units gives.
    expect(result.objects).toEqual(synthesize(referenceService(), options).objects);
  });

  test('a unit limited to environments exists in those only', () => {
    const staging = synthesize(withExtra(), { ...options, environment: 'staging' });
    expect(components(staging.objects).has('staging-only')).toBe(true);
    expect(staging.omitted.map((o) => o.unit)).toEqual(['demo-data']);
  });

  test('refuses to synthesise the local environment', () => {
    expect(() => synthesize(withExtra(), { ...options, environment: 'local' })).toThrow(/environment "local" is the one `archipelago up` runs/);
  });
});

test('archipelago up runs the units that exist locally, localOnly ones included', () => {
  const service = referenceService({ units: [...referenceInput().units, ...extra,
    { name: 'prod-only', kind: 'cron', entry: 'src/crons/cleanup.ts', schedule: '0 * * * *', environments: ['production'] }] });
  const names = new Supervisor(service).units.map((u) => u.name);
  expect(names).toContain('demo-data');
  expect(names).toContain('staging-only');
  expect(names).not.toContain('prod-only');
});

test('a pod refuses to run a unit that does not exist in its environment', async () => {
  const saved = process.env.ARCHIPELAGO_ENVIRONMENT;
  process.env.ARCHIPELAGO_ENVIRONMENT = 'production';
  try {
    await expect(runUnit({ service: withExtra(), unit: 'demo-data', databaseUrl: 'postgres://nobody@127.0.0.1:1/none', exit: () => {} }))
      .rejects.toThrow('unit "demo-data" does not exist in environment "production" (environments: local)');
  } finally {
    if (saved === undefined) delete process.env.ARCHIPELAGO_ENVIRONMENT;
    else process.env.ARCHIPELAGO_ENVIRONMENT = saved;
  }
});

describe('validation names the unit and the field', () => {
  const check = (unit: Record<string, unknown>, ...fragments: string[]) => {
    const r = validateService({ name: 'svc', units: [{ name: 'j', kind: 'job', entry: 'src/jobs/seed.ts', ...unit }] }, { root: FIXTURE_ROOT });
    expect(r.service).toBeUndefined();
    const messages = r.errors.map((e) => `${e.code} ${e.message}`).join('\n');
    for (const f of ['ARCH_E_INVALID_VALUE', 'units[0] "j"', ...fragments]) expect(messages).toContain(f);
  };
  test('localOnly must be a boolean', () => check({ localOnly: 'yes' }, 'localOnly ("yes") must be true or false'));
  test('environments must be a non-empty list of names', () => {
    check({ environments: [] }, 'environments ([]) must be a non-empty array');
    check({ environments: ['Prod'] }, 'environments entry "Prod"');
  });
  test('not both', () => check({ localOnly: true, environments: ['local'] }, 'localOnly and environments cannot both be set'));
  test('a valid declaration resolves to its environments', () => {
    const r = validateService({ name: 'svc', units: [{ name: 'j', kind: 'job', entry: 'src/jobs/seed.ts', localOnly: true }] }, { root: FIXTURE_ROOT });
    expect(r.service?.units[0]?.environments).toEqual(['local']);
  });
});
