// A service shaped like the reference one, resolved without touching the disk, and its subscriptions.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SubscriptionSpec } from '../../src/messaging/broker.js';
import { resolveService, SUBSCRIPTION_DEFAULTS, type ServiceInput } from '../../src/service/index.js';
import type { SynthOptions } from '../../src/synth/index.js';

export function referenceInput(overrides: Partial<ServiceInput> = {}): ServiceInput {
  return {
    name: 'app-api',
    units: [
      { name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000, replicas: { min: 2, max: 10 },
        scale: { cpu: 70, behavior: { scaleDown: { stabilization: '2m', policies: [{ type: 'pods', value: 2, period: '30s' }] } } },
        resources: { cpu: '500m', memory: '512Mi' }, secrets: ['JWT_SECRET'], env: { LOG_LEVEL: 'info' } },
      { name: 'background', kind: 'worker', entry: 'src/units/background.ts', replicas: { min: 1, max: 10 },
        scale: { backlog: 100, activation: 5, cooldown: '2m', polling: '5s', fallback: 2 } },
      { name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', replicas: { min: 0, max: 8 },
        scale: { backlog: 20 }, secrets: ['SMTP_PASSWORD'], priority: 'background', grace: '2m' },
      { name: 'realtime', kind: 'realtime', entry: 'src/units/realtime.ts', port: 3001, replicas: { min: 1, max: 6 },
        scale: { connections: 5000 }, secrets: ['JWT_SECRET'] },
      { name: 'weekly-digest', kind: 'cron', schedule: '0 9 * * MON', timezone: 'Europe/Paris', entry: 'src/crons/weekly-digest.ts', deadline: '1h' },
      { name: 'cleanup', kind: 'cron', schedule: '*/15 * * * *', entry: 'src/crons/cleanup.ts', concurrency: 'replace' },
      { name: 'migrate', kind: 'job', entry: 'src/jobs/migrate.ts', runOn: 'deploy', deadline: '10m' },
      { name: 'seed', kind: 'job', entry: 'src/jobs/seed.ts', runOn: 'manual' },
      { name: 'changes', kind: 'cdc', tables: ['posts', 'upvotes', 'comments'] },
    ],
    ...overrides,
  };
}

const spec = (unit: string, name: string, topic: string): SubscriptionSpec => ({
  name, topic, unit,
  concurrency: SUBSCRIPTION_DEFAULTS.concurrency, maxAttempts: SUBSCRIPTION_DEFAULTS.maxAttempts,
  backoff: { ...SUBSCRIPTION_DEFAULTS.backoff }, deadlineMs: SUBSCRIPTION_DEFAULTS.deadlineMs,
});

export const referenceSubscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]> = new Map([
  ['background', [spec('background', 'post-counters', 'changes.upvotes'), spec('background', 'notify-comment', 'changes.comments')]],
  ['digest', [spec('digest', 'digest-send', 'digest')]],
]);

/** The fixture's entry files, so that validation checks they exist and the CLI can import them. */
export const FIXTURE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/synth-service');

export const referenceService = (overrides: Partial<ServiceInput> = {}) => resolveService(referenceInput(overrides), { root: FIXTURE_ROOT });

export const options: SynthOptions = {
  image: 'ghcr.io/acme/app-api:1.4.2', namespace: 'app', environment: 'production', subscriptions: referenceSubscriptions,
};
