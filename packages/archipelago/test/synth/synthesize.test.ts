// Synth of a service shaped like the reference one: snapshot, schema validity, and what each kind emits.
import { describe, expect, test } from 'vitest';
import {
  ADMIN_PORT, PRESTOP_SECONDS, podSpecOf, synthesize, validateSchemas, yamlFiles, type IJob, type K8sObject,
} from '../../src/synth/index.js';
import { durableName } from '../../src/messaging/brokers/nats.js';
import { imageVersion } from '../../src/synth/normalize.js';
import { options, referenceService, referenceSubscriptions } from './fixture.js';

const result = synthesize(referenceService(), options);
const find = (kind: string, name: string) => result.objects.find((o) => o.kind === kind && o.metadata?.name === name) as any;
const ofUnit = (unit: string) => result.objects.filter((o) => o.metadata?.labels?.['app.kubernetes.io/component'] === unit);

test('the reference service synthesises to the same YAML as last time', async () => {
  const files = [...yamlFiles(result)].map(([name, content]) => `##### ${name}\n${content}`).join('\n');
  await expect(files).toMatchFileSnapshot('./__snapshots__/app-api.yaml');
});

test('every object passes the Kubernetes and KEDA schemas', () => {
  expect(result.objects.length).toBeGreaterThan(20);
  expect(() => validateSchemas(result.objects)).not.toThrow();
  const kinds = new Set(result.objects.map((o) => o.kind));
  for (const k of ['ServiceAccount', 'PriorityClass', 'ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget',
    'ScaledObject', 'TriggerAuthentication', 'CronJob', 'Job']) expect(kinds).toContain(k);
});

describe('per kind', () => {
  test('api: Deployment, Service, HPA with the unit\'s targets and behavior, PodDisruptionBudget', () => {
    expect(ofUnit('api').map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
    const hpa = find('HorizontalPodAutoscaler', 'app-api-api');
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(10);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.spec.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: 120, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 2, periodSeconds: 30 }] });
  });

  test('worker: a ScaledObject with min/max, polling, cooldown, fallback and activation', () => {
    const so = find('ScaledObject', 'app-api-background');
    expect(so.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 10, pollingInterval: 5, cooldownPeriod: 120, fallback: { replicas: 2 } });
    // Two subscriptions: one trigger counting both, so the unit scales on their sum, as locally.
    expect(so.spec.triggers.map((t: any) => [t.type, t.metricType, t.metadata.query, t.metadata.targetQueryValue, t.metadata.activationTargetQueryValue])).toEqual([
      ['postgresql', 'AverageValue', "SELECT count(*) FROM archipelago.queue WHERE subscription IN ('post-counters', 'notify-comment')", '100', '5'],
    ]);
    expect(so.spec.advanced.scalingModifiers).toBeUndefined();
    expect(find('ScaledObject', 'app-api-digest').spec.minReplicaCount).toBe(0);
  });

  test('worker on nats: the nats-jetstream scaler on the subscription\'s durable consumer', () => {
    const r = synthesize(referenceService({ broker: { kind: 'nats', stream: 'app' } }), options);
    const so = r.objects.find((o) => o.kind === 'ScaledObject' && o.metadata?.name === 'app-api-digest') as any;
    expect(so.spec.triggers).toEqual([expect.objectContaining({
      type: 'nats-jetstream', metadata: { account: '$G', stream: 'app', consumer: 'digest-send', lagThreshold: '20', activationLagThreshold: '0' },
    })]);
    // A subscription name JetStream cannot use as is gets the broker's own durable name.
    const dotted = new Map(referenceSubscriptions);
    dotted.set('digest', [{ ...referenceSubscriptions.get('digest')![0]!, name: 'digest.send.v2' }]);
    const r2 = synthesize(referenceService({ broker: 'nats' }), { ...options, subscriptions: dotted });
    const consumer = (r2.objects.find((o) => o.kind === 'ScaledObject' && o.metadata?.name === 'app-api-digest') as any).spec.triggers[0].metadata.consumer;
    expect(consumer).toBe(durableName('digest.send.v2'));
    expect(consumer).not.toContain('.');
    const auth = r.objects.find((o) => o.kind === 'TriggerAuthentication') as any;
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'natsServerMonitoringEndpoint', name: 'app-api-secrets', key: 'NATS_MONITORING_ENDPOINT' }]);
  });

  test('realtime: Deployment, Service, HPA on connections, a longer grace', () => {
    expect(ofUnit('realtime').map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler']);
    expect(find('HorizontalPodAutoscaler', 'app-api-realtime').spec.metrics[0]).toMatchObject({ type: 'Pods', pods: { target: { averageValue: '5000' } } });
    expect(find('Deployment', 'app-api-realtime').spec.template.spec.terminationGracePeriodSeconds).toBe(60 + PRESTOP_SECONDS);
  });

  test('cron: a CronJob with schedule, time zone, concurrency policy, deadline and history limits', () => {
    expect(find('CronJob', 'app-api-weekly-digest').spec).toMatchObject({
      schedule: '0 9 * * MON', timeZone: 'Europe/Paris', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
      jobTemplate: { spec: { activeDeadlineSeconds: 3600 } },
    });
    expect(find('CronJob', 'app-api-cleanup').spec.concurrencyPolicy).toBe('Replace');
  });

  test('provisioning: a Job running `archipelago provision` comes before every other deploy Job and every Deployment', () => {
    const names = result.objects.map((o) => `${o.kind}/${o.metadata?.name}`);
    const at = names.findIndex((n) => /^Job\/app-api-provision-[0-9a-f]{8}$/.test(n));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(names.findIndex((n) => n.startsWith('Job/app-api-migrate-')));
    expect(at).toBeLessThan(names.findIndex((n) => n.startsWith('Deployment/')));
    const job = result.objects[at] as IJob;
    const c = job.spec!.template.spec!.containers[0]!;
    expect(c.args).toEqual(['provision']);
    expect(job.metadata?.labels?.['archipelago.dev/run-on']).toBe('deploy');
    expect(c.env?.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name)).toEqual(['DATABASE_URL']);
  });

  test('job: runOn deploy gets a name that changes with the image; a manual job is a suspended template', () => {
    const isMigrate = (o: K8sObject) => o.kind === 'Job' && /^app-api-migrate-/.test(o.metadata?.name ?? '');
    const job = result.objects.find(isMigrate)!;
    expect(job.metadata?.name).toMatch(/^app-api-migrate-[0-9a-f]{8}$/);
    const next = synthesize(referenceService(), { ...options, image: 'ghcr.io/acme/app-api:1.4.3' }).objects.find(isMigrate)!;
    expect(next.metadata?.name).not.toBe(job.metadata?.name);
    expect(find('CronJob', 'app-api-seed').spec.suspend).toBe(true);
  });

  test('cdc: one active replica and a standby, never surging, not autoscaled', () => {
    expect(ofUnit('changes').map((o) => o.kind)).toEqual(['ConfigMap', 'Deployment']);
    const d = find('Deployment', 'app-api-changes');
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });
});

describe('every pod', () => {
  const pods = result.objects.map((o) => [o, podSpecOf(o)] as const).filter((p): p is [K8sObject, NonNullable<ReturnType<typeof podSpecOf>>] => p[1] !== undefined);
  const unitPods = pods.filter(([o]) => o.metadata?.labels?.['app.kubernetes.io/component'] !== 'provision');

  test('runs the one image as `archipelago run <unit>` with the unit\'s resources and priority', () => {
    expect(unitPods.length).toBe(9);
    const service = referenceService();
    for (const [o, pod] of unitPods) {
      const unit = service.units.find((u) => u.name === o.metadata?.labels?.['app.kubernetes.io/component'])!;
      const c = pod.containers[0]!;
      expect(c.image).toBe(options.image);
      expect(c.args).toEqual(['run', unit.name]);
      expect(c.resources?.requests).toEqual({ cpu: unit.resources.cpu, memory: unit.resources.memory });
      expect(pod.priorityClassName).toBe(`app-api-${unit.priority}`);
      expect(c.envFrom).toEqual([{ configMapRef: { name: `app-api-${unit.name}-env` } }]);
    }
  });

  test('has secure defaults', () => {
    for (const [, pod] of pods) {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.containers[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } });
    }
  });

  test('long-running units have probes on their health paths and a preStop drain; tasks have none', () => {
    for (const [o, pod] of pods) {
      const c = pod.containers[0]!;
      if (o.kind === 'Deployment') {
        const port = c.ports![0]!;
        expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: port.name });
        expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: port.name });
        expect(c.startupProbe).toBeDefined();
        expect(c.lifecycle?.preStop?.exec?.command).toEqual(['sleep', String(PRESTOP_SECONDS)]);
        if (!['api', 'realtime'].includes(o.metadata!.labels!['archipelago.dev/kind']!)) expect(port.containerPort).toBe(ADMIN_PORT);
      } else {
        expect(c.readinessProbe).toBeUndefined();
        expect(c.lifecycle).toBeUndefined();
      }
    }
    expect(find('Deployment', 'app-api-api').spec.template.spec.containers[0].ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
  });

  test('carries the standard labels', () => {
    for (const o of result.objects) {
      for (const l of ['name', 'instance', 'part-of', 'version', 'managed-by']) expect(o.metadata?.labels?.[`app.kubernetes.io/${l}`]).toBeTruthy();
    }
    expect(find('Deployment', 'app-api-api').metadata.labels['app.kubernetes.io/version']).toBe('1.4.2');
    expect(find('Deployment', 'app-api-api').spec.selector.matchLabels['app.kubernetes.io/version']).toBeUndefined();
  });

  test('gets its environment from its own ConfigMap', () => {
    expect(find('ConfigMap', 'app-api-api-env').data).toMatchObject({ LOG_LEVEL: 'info', ARCHIPELAGO_UNIT: 'api', ARCHIPELAGO_ENVIRONMENT: 'production', PORT: '3000' });
    expect(find('ConfigMap', 'app-api-digest-env').data.LOG_LEVEL).toBeUndefined();
  });
});

test.each([
  ['ghcr.io/acme/app-api:1.4.2', '1.4.2'],
  ['localhost:5000/app-api', 'latest'],
  ['registry:5000/team/app-api:v2-rc.1', 'v2-rc.1'],
  ['ghcr.io/acme/app-api@sha256:0123456789abcdef0123', '0123456789ab'],
])('the version label of image %s is %s', (image, version) => {
  expect(imageVersion(image)).toBe(version);
});
