// Utilisation as the HPA computes it, from per-replica usage: cases from the HPA's
// metrics/utilization_test.go and replica_calculator_test.go (kubernetes/kubernetes), adapted to
// equal per-replica requests (a unit's replicas share one `resources`).
import { describe, expect, it } from 'vitest';
import { utilisation, type ReplicaUsage } from '../../src/scaling/index.js';

const r = (cpuMillis: number | null, memoryBytes: number | null = null, ready = true): ReplicaUsage =>
  ({ ready, cpuCores: cpuMillis === null ? null : cpuMillis / 1000, memoryBytes });

describe('utilisation (HPA GetResourceUtilizationRatio)', () => {
  it.each([
    ['one replica at 280m against 100m is 280% (not 2.8%)', [r(280)], 100, 280],
    ['three replicas at 50m, 60m, 70m against 100m average 60%', [r(50), r(60), r(70)], 100, 60],
    ['replica_calculator_test "ScaleUp": 300m, 500m, 700m against 1000m is 50%', [r(300), r(500), r(700)], 1000, 50],
    ['the HPA truncates to whole percent: 333m against 1000m is 33%', [r(333)], 1000, 33],
    ['a replica that is not ready is left out of the average', [r(900), r(10, null, false)], 1000, 90],
    ['a replica without a reading is left out', [r(400), r(null)], 1000, 40],
  ])('%s', (_name, replicas, requestMillis, expected) => {
    expect(utilisation(replicas as ReplicaUsage[], { cpuMillis: requestMillis as number, memoryBytes: 1 }).cpuPercent).toBe(expected);
  });

  it('no ready replica with a reading: no metric (null), so the round cannot scale down', () => {
    expect(utilisation([r(500, 1, false), r(null)], { cpuMillis: 100, memoryBytes: 100 })).toEqual({ cpuPercent: null, memoryPercent: null });
  });

  it('memory is resident bytes over the request, averaged over ready replicas', () => {
    const Mi = 2 ** 20;
    expect(utilisation([r(0, 384 * Mi), r(0, 128 * Mi)], { cpuMillis: 100, memoryBytes: 512 * Mi }).memoryPercent).toBe(50);
    expect(utilisation([r(0, 600 * Mi)], { cpuMillis: 100, memoryBytes: 512 * Mi }).memoryPercent).toBe(117);
  });
});
