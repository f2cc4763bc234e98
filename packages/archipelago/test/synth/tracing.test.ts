// Every unit's pods say who they are to OpenTelemetry: OTEL_SERVICE_NAME in the unit's ConfigMap,
// OTEL_RESOURCE_ATTRIBUTES (service, unit, environment, version, pod name from the downward API) in
// its container, after the variable it expands; export stays off (no endpoint) until configured.
import { expect, test } from 'vitest';
import { podSpecOf, synthesize, type K8sObject } from '../../src/synth/index.js';
import { options, referenceInput, referenceService } from './fixture.js';

const unitOf = (o: K8sObject) => o.metadata?.labels?.['app.kubernetes.io/component'];

test('every unit\'s Deployment, CronJob and Job carries the OpenTelemetry variables for that unit', () => {
  const service = referenceService();
  const { objects } = synthesize(service, options);
  const version = options.image.split(':').at(-1)!;
  const seen = new Set<string>();
  for (const o of objects) {
    const pod = podSpecOf(o);
    const unit = unitOf(o);
    if (!pod || !unit || !service.units.some((u) => u.name === unit)) continue;
    seen.add(unit);
    const env = pod.containers[0]!.env!;
    const names = env.map((e) => e.name);
    const attrs = env.find((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value;
    expect(attrs, `${o.kind} ${unit}`).toBeDefined();
    expect(attrs!.split(',')).toEqual(expect.arrayContaining([
      `service.namespace=${service.name}`, `archipelago.unit=${unit}`, `deployment.environment.name=${options.environment}`,
      `service.version=${version}`, 'k8s.pod.name=$(ARCHIPELAGO_REPLICA)', 'service.instance.id=$(ARCHIPELAGO_REPLICA)',
    ]));
    // The kubelet expands $(VAR) only from variables defined before it in the container.
    expect(names.indexOf('ARCHIPELAGO_REPLICA')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    expect(env.find((e) => e.name === 'ARCHIPELAGO_REPLICA')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    const mapName = pod.containers[0]!.envFrom![0]!.configMapRef!.name;
    const map = objects.find((m) => m.kind === 'ConfigMap' && m.metadata?.name === mapName) as { data: Record<string, string> };
    expect(map.data.OTEL_SERVICE_NAME).toBe(`${service.name}-${unit}`);
    expect(map.data.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  }
  expect([...seen].sort()).toEqual(service.units.map((u) => u.name).sort());
});

test('a unit\'s own OTEL_RESOURCE_ATTRIBUTES are appended (a later key wins) and its endpoint reaches the ConfigMap', () => {
  const service = referenceService({ units: referenceInput().units.map((u) => (u.name === 'api' ? { ...u, env: { OTEL_RESOURCE_ATTRIBUTES: 'team=core', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' } } : u)) });
  const { objects } = synthesize(service, options);
  const deploy = objects.find((o) => o.kind === 'Deployment' && unitOf(o) === 'api')!;
  const attrs = podSpecOf(deploy)!.containers[0]!.env!.find((e) => e.name === 'OTEL_RESOURCE_ATTRIBUTES')!.value!;
  expect(attrs.split(',').at(-1)).toBe('team=core');
  const map = objects.find((m) => m.kind === 'ConfigMap' && m.metadata?.name === 'app-api-api-env') as { data: Record<string, string> };
  expect(map.data.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
  expect(map.data.OTEL_RESOURCE_ATTRIBUTES).toBeUndefined();
});
