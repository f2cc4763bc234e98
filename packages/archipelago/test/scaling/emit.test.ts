// The parameters synth emits: the HPA `behavior` and KEDA ScaledObject fields, checked against their schemas.
import { describe, expect, it } from 'vitest';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { DEFAULT_BEHAVIOR, hpaBehavior, kedaScaledObjectFields, kedaTriggerTargets } from '../../src/scaling/index.js';
import { apiUnit, workerUnit } from './units.js';

describe('hpaBehavior', () => {
  it('HPA "Default behavior": the resolved defaults are the documented defaults', () => {
    expect(hpaBehavior(apiUnit().scale.behavior)).toEqual({
      scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
    });
    expect(hpaBehavior(DEFAULT_BEHAVIOR)).toEqual(hpaBehavior(apiUnit().scale.behavior));
  });
  it('HPA "Example: limit scale down rate": Percent 10 and Pods 5 per 60 s with selectPolicy Min', () => {
    const unit = apiUnit({ scale: { cpu: 70, behavior: { scaleDown: { stabilization: '1m', select: 'min', policies: [{ type: 'percent', value: 10, period: '60s' }, { type: 'pods', value: 5, period: '1m' }] } } } });
    expect(hpaBehavior(unit.scale.behavior).scaleDown).toEqual({
      stabilizationWindowSeconds: 60, selectPolicy: 'Min',
      policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }, { type: 'Pods', value: 5, periodSeconds: 60 }],
    });
  });
  it('is a valid autoscaling/v2 HorizontalPodAutoscaler behavior', () => {
    const unit = apiUnit({ replicas: { min: 2, max: 10 }, scale: { cpu: 70, behavior: { scaleUp: { stabilization: '30s', policies: [{ type: 'pods', value: 2, period: '20s' }] } } } });
    const hpa = new HorizontalPodAutoscaler({
      metadata: { name: 'api' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: 10, behavior: hpaBehavior(unit.scale.behavior) },
    });
    expect(() => hpa.validate()).not.toThrow();
    // The check can fail: a policy without its period is rejected.
    const bad = new HorizontalPodAutoscaler({ metadata: { name: 'api' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'api' }, maxReplicas: 1,
      behavior: { scaleUp: { policies: [{ type: 'Pods', value: 2 } as unknown as { type: string; value: number; periodSeconds: number }] } } } });
    expect(() => bad.validate()).toThrow();
  });
});

describe('kedaScaledObjectFields', () => {
  it('ScaledObject specification: pollingInterval, cooldownPeriod, min/maxReplicaCount and the HPA behavior, in seconds', () => {
    const unit = workerUnit({ replicas: { min: 0, max: 8 }, scale: { backlog: 20, polling: '5s', cooldown: '2m', fallback: 3 } });
    expect(kedaScaledObjectFields(unit)).toEqual({
      pollingInterval: 5, cooldownPeriod: 120, initialCooldownPeriod: 120, minReplicaCount: 0, maxReplicaCount: 8,
      fallback: { failureThreshold: 3, replicas: 3 },
      advanced: { horizontalPodAutoscalerConfig: { behavior: hpaBehavior(unit.scale.behavior) } },
    });
  });
  it('fallback: only supported for AverageValue triggers, so an age-only worker gets none', () => {
    expect(kedaScaledObjectFields(workerUnit({ replicas: { min: 1, max: 4 }, scale: { age: '1m', fallback: 2 } })).fallback).toBeUndefined();
    expect(kedaScaledObjectFields(workerUnit({ scale: { backlog: 5 } })).fallback).toBeUndefined();
  });
  it('cooldownPeriod default is 300 s and the local polling default 2 s', () => {
    expect(kedaScaledObjectFields(workerUnit({ scale: { backlog: 5 } }))).toMatchObject({ cooldownPeriod: 300, pollingInterval: 2 });
  });
  it('is a valid KEDA ScaledObject spec', () => {
    const unit = workerUnit({ replicas: { min: 0, max: 8 }, scale: { backlog: 20, activation: 5, fallback: 2 } });
    const so = new ScaledObject({
      metadata: { name: 'work' },
      spec: { scaleTargetRef: { name: 'work' }, triggers: [{ type: 'postgresql', metadata: { targetQueryValue: '20' } }], ...kedaScaledObjectFields(unit) },
    });
    expect(() => so.validate()).not.toThrow();
  });
  it('kedaTriggerTargets: backlog as AverageValue with its activation, age as Value in seconds activating at its target', () => {
    expect(kedaTriggerTargets(workerUnit({ scale: { backlog: 20, activation: 5, age: '90s' } }))).toEqual({
      backlog: { metricType: 'AverageValue', value: 20, activationValue: 5 },
      ageSeconds: { metricType: 'Value', value: 90, activationValue: 90 },
    });
  });
});
