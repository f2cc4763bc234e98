// Secret values never reach synth's output, even when they sit in the environment synth runs in.
import { afterEach, expect, test } from 'vitest';
import { synthesize, yamlFiles } from '../../src/synth/index.js';
import { validateService } from '../../src/service/index.js';
import { FIXTURE_ROOT, options, referenceService } from './fixture.js';

const VALUES = {
  DATABASE_URL: 'postgres://app:db-pass-5d1f0c@db.internal:5432/app',
  JWT_SECRET: 'jwt-secret-value-7e3a9b21',
  SMTP_PASSWORD: 'smtp-pass-c0ffee42',
  NATS_URL: 'nats://user:nats-pass-9f8e@nats:4222',
  NATS_MONITORING_ENDPOINT: 'nats-monitor-1a2b3c:8222',
};
const saved = Object.fromEntries(Object.keys(VALUES).map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

test.each(['postgres', 'nats'] as const)('no secret value appears in the YAML (%s broker), only references to their keys', (broker) => {
  Object.assign(process.env, VALUES);
  const result = synthesize(referenceService({ broker: { kind: broker } }), options);
  const text = [...yamlFiles(result).values()].join('\n');
  for (const [key, value] of Object.entries(VALUES)) {
    expect(text).not.toContain(value);
    if (broker === 'nats' || !key.startsWith('NATS')) expect(text).toContain(`key: ${key}`);
  }
  // Nor any password, host or token inside them.
  for (const part of ['db-pass-5d1f0c', 'db.internal', 'nats-pass-9f8e', 'nats-monitor-1a2b3c', '7e3a9b21', 'c0ffee42']) expect(text).not.toContain(part);
  expect(text).not.toMatch(/kind: Secret\b/);
});

test('an optional secret is an optional secretKeyRef; a required one is not', () => {
  const service = referenceService({ units: [
    { name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', scale: { backlog: 20 },
      secrets: ['SMTP_PASSWORD', { name: 'FEATURE_FLAG', optional: true }, { name: 'SMTP_URL', optional: false }] },
  ] });
  expect(service.units[0]!.secrets).toEqual(['SMTP_PASSWORD', 'FEATURE_FLAG', 'SMTP_URL']);
  expect(service.units[0]!.optionalSecrets).toEqual(['FEATURE_FLAG']);
  const deployment = synthesize(service, options).objects.find((o) => o.kind === 'Deployment') as any;
  const refs = Object.fromEntries(deployment.spec.template.spec.containers[0].env.filter((e: any) => e.valueFrom?.secretKeyRef)
    .map((e: any) => [e.name, e.valueFrom.secretKeyRef]));
  expect(refs.FEATURE_FLAG).toEqual({ name: 'app-api-secrets', key: 'FEATURE_FLAG', optional: true });
  for (const key of ['SMTP_PASSWORD', 'SMTP_URL', 'DATABASE_URL']) expect(refs[key], key).toEqual({ name: 'app-api-secrets', key });
});

test.each([
  [{ name: 'FLAG', optinal: true }, 'ARCH_E_UNKNOWN_FIELD', 'unknown field "secrets[0].optinal"'],
  [{ name: 'FLAG', optional: 'yes' }, 'ARCH_E_INVALID_VALUE', 'secrets[0].optional ("yes") must be true or false'],
  [{ optional: true }, 'ARCH_E_INVALID_VALUE', 'secrets[0].name (undefined) must be an environment variable name'],
  [{ name: 'not-a-var' }, 'ARCH_E_INVALID_VALUE', 'secrets[0].name ("not-a-var")'],
  ['2FA', 'ARCH_E_INVALID_VALUE', 'secrets[0] ("2FA") must be an environment variable name'],
] as const)('a malformed secret declaration %j is refused, naming the unit and the field', (secret, code, fragment) => {
  const r = validateService({ name: 'svc', units: [{ name: 'digest', kind: 'job', entry: 'src/jobs/seed.ts', secrets: [secret] }] }, { root: FIXTURE_ROOT });
  expect(r.service).toBeUndefined();
  expect(r.errors.map((e) => `${e.code} ${e.message}`).join('\n')).toContain(`${code} units[0] "digest": ${fragment}`);
});

test('a secret declared twice is refused', () => {
  const r = validateService({ name: 'svc', units: [{ name: 'j', kind: 'job', entry: 'src/jobs/seed.ts', secrets: ['A', { name: 'A', optional: true }] }] }, { root: FIXTURE_ROOT });
  expect(r.errors.map((e) => e.message)).toContain('units[0] "j": secrets[1].name ("A") is declared twice');
});
