// One refusal per rule the API server or KEDA's webhook applies and the schemas miss: each test
// breaks one rule in otherwise valid output and expects ARCH_E_SYNTH_INVALID naming the object, the
// field and the rule.
import { describe, expect, test } from 'vitest';
import { ArchipelagoError } from '../../src/errors.js';
import { synthesize, type K8sObject } from '../../src/synth/index.js';
import { lint } from '../../src/synth/lint.js';
import { options, referenceService } from './fixture.js';

const result = synthesize(referenceService(), options);
const copy = () => structuredClone(result.objects) as any[];
const get = (objs: any[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata?.name === name);

function refused(objs: any[], object: string, field: string, rule: string): void {
  let error: unknown;
  try { lint(objs as K8sObject[]); } catch (e) { error = e; }
  expect(error).toBeInstanceOf(ArchipelagoError);
  const e = error as ArchipelagoError;
  expect(e.code).toBe('ARCH_E_SYNTH_INVALID');
  expect(e.message.startsWith(`${object}: ${field} `), e.message).toBe(true);
  expect(e.message).toContain(`(rule: ${rule})`);
}

describe('synth lint', () => {
  test('the reference output passes every rule', () => {
    expect(() => lint(result.objects as K8sObject[])).not.toThrow();
  });

  test('dns-1123-subdomain: a name with capitals or underscores', () => {
    const objs = copy(); get(objs, 'ConfigMap', 'app-api-api-env').metadata.name = 'App_Api';
    refused(objs, 'ConfigMap "App_Api"', 'metadata.name', 'dns-1123-subdomain');
  });

  test('name-length: a CronJob name over 52 characters (the controller appends 11 to name its Jobs)', () => {
    const objs = copy(); const c = objs.find((o) => o.kind === 'CronJob'); c.metadata.name = 'c'.repeat(53);
    refused(objs, `CronJob "${'c'.repeat(53)}"`, 'metadata.name', 'name-length');
  });

  test('name-length: a ScaledObject name over 63 characters (it becomes a label value)', () => {
    const objs = copy(); get(objs, 'ScaledObject', 'app-api-digest').metadata.name = 's'.repeat(64);
    refused(objs, `ScaledObject "${'s'.repeat(64)}"`, 'metadata.name', 'name-length');
  });

  test('dns-1035-label: a Service name starting with a digit', () => {
    const objs = copy(); get(objs, 'Service', 'app-api-api').metadata.name = '1api';
    refused(objs, 'Service "1api"', 'metadata.name', 'dns-1035-label');
  });

  test('label-syntax: a label value over 63 characters', () => {
    const objs = copy(); get(objs, 'Deployment', 'app-api-api').metadata.labels.team = 'x'.repeat(64);
    refused(objs, 'Deployment "app-api-api"', 'metadata.labels', 'label-syntax');
  });

  test('label-syntax: a label key with a bad prefix or characters', () => {
    const objs = copy(); get(objs, 'Deployment', 'app-api-api').spec.template.metadata.labels['Example.COM/x y'] = 'v';
    refused(objs, 'Deployment "app-api-api"', 'spec.template.metadata.labels', 'label-syntax');
  });

  test('selector-matches-template: a Deployment selector its pods do not carry', () => {
    const objs = copy(); get(objs, 'Deployment', 'app-api-api').spec.selector.matchLabels['app.kubernetes.io/component'] = 'other';
    refused(objs, 'Deployment "app-api-api"', 'spec.selector.matchLabels', 'selector-matches-template');
  });

  test('unknown-field: a misspelled spec field', () => {
    const objs = copy(); get(objs, 'Deployment', 'app-api-api').spec.replica = 3;
    refused(objs, 'Deployment "app-api-api"', 'spec.replica', 'unknown-field');
  });

  test('unknown-field: a misspelled container field', () => {
    const objs = copy(); get(objs, 'Deployment', 'app-api-api').spec.template.spec.containers[0].resource = {};
    refused(objs, 'Deployment "app-api-api"', 'spec.template.spec.containers[0].resource', 'unknown-field');
  });

  test('hpa-min-max: maxReplicas below minReplicas', () => {
    const objs = copy(); const h = get(objs, 'HorizontalPodAutoscaler', 'app-api-api'); h.spec.maxReplicas = h.spec.minReplicas - 1;
    refused(objs, 'HorizontalPodAutoscaler "app-api-api"', 'spec.maxReplicas', 'hpa-min-max');
  });

  test('hpa-min-replicas: minReplicas 0 on an HPA', () => {
    const objs = copy(); get(objs, 'HorizontalPodAutoscaler', 'app-api-api').spec.minReplicas = 0;
    refused(objs, 'HorizontalPodAutoscaler "app-api-api"', 'spec.minReplicas', 'hpa-min-replicas');
  });

  test('keda-min-max: maxReplicaCount below minReplicaCount', () => {
    const objs = copy(); const so = get(objs, 'ScaledObject', 'app-api-background'); so.spec.maxReplicaCount = 0;
    refused(objs, 'ScaledObject "app-api-background"', 'spec.maxReplicaCount', 'keda-min-max');
  });

  test('hpa-stabilization-window: a window over 3600 s (HPA and KEDA advanced behavior)', () => {
    const objs = copy(); get(objs, 'HorizontalPodAutoscaler', 'app-api-api').spec.behavior.scaleDown.stabilizationWindowSeconds = 3601;
    refused(objs, 'HorizontalPodAutoscaler "app-api-api"', 'spec.behavior.scaleDown.stabilizationWindowSeconds', 'hpa-stabilization-window');
    const objs2 = copy(); get(objs2, 'ScaledObject', 'app-api-digest').spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds = 7200;
    refused(objs2, 'ScaledObject "app-api-digest"', 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds', 'hpa-stabilization-window');
  });

  test('hpa-policy-period: a policy period over 1800 s', () => {
    const objs = copy(); get(objs, 'HorizontalPodAutoscaler', 'app-api-api').spec.behavior.scaleDown.policies[0].periodSeconds = 1801;
    refused(objs, 'HorizontalPodAutoscaler "app-api-api"', 'spec.behavior.scaleDown.policies[0].periodSeconds', 'hpa-policy-period');
  });

  test('hpa-policy-value: a policy value of 0', () => {
    const objs = copy(); get(objs, 'HorizontalPodAutoscaler', 'app-api-api').spec.behavior.scaleDown.policies[0].value = 0;
    refused(objs, 'HorizontalPodAutoscaler "app-api-api"', 'spec.behavior.scaleDown.policies[0].value', 'hpa-policy-value');
  });

  test('keda-fallback: a fallback with only a Value trigger', () => {
    const objs = copy(); const so = get(objs, 'ScaledObject', 'app-api-background');
    so.spec.triggers = so.spec.triggers.map((t: any) => ({ ...t, metricType: 'Value' }));
    refused(objs, 'ScaledObject "app-api-background"', 'spec.fallback', 'keda-fallback');
  });

  test('keda-fallback: a fallback with only a cpu trigger', () => {
    const objs = copy(); const so = get(objs, 'ScaledObject', 'app-api-background');
    so.spec.triggers = [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } }];
    refused(objs, 'ScaledObject "app-api-background"', 'spec.fallback', 'keda-fallback');
  });

  test('cron-schedule: a schedule Kubernetes would not parse', () => {
    const objs = copy(); const c = objs.find((o) => o.kind === 'CronJob' && !o.spec.suspend); c.spec.schedule = '0 0 L * *';
    refused(objs, `CronJob "${c.metadata.name}"`, 'spec.schedule', 'cron-schedule');
  });

  test('cron-time-zone: a zone in the wrong case', () => {
    const objs = copy(); const c = objs.find((o) => o.kind === 'CronJob'); c.spec.timeZone = 'europe/paris';
    refused(objs, `CronJob "${c.metadata.name}"`, 'spec.timeZone', 'cron-time-zone');
  });
});
