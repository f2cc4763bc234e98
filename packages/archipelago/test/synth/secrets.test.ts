// Secret values never reach synth's output, even when they sit in the environment synth runs in.
import { afterEach, expect, test } from 'vitest';
import { synthesize, yamlFiles } from '../../src/synth/index.js';
import { options, referenceService } from './fixture.js';

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
