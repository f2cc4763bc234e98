// From a real process's measured CPU and memory to the autoscaler's decision: the readings the
// supervisor takes from /proc, converted to utilisation of the unit's request, must move an api unit
// with `scale: { cpu }` or `scale: { memory }` the way the HPA would. (The supervisor once divided
// by cpuMillis / 10, reading a replica at 280% of its 100m request as 2.8%.)
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createAutoscaler, utilisation } from '../../src/scaling/index.js';
import { UsageMeter } from '../../src/supervisor/usage.js';
import { apiUnit } from '../scaling/units.js';
import { waitFor } from './helpers.js';

const children: ChildProcess[] = [];
const meter = new UsageMeter();
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  meter.clear();
});

function node(script: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return c;
}

/** Bounded: the child ends itself after 60 s even if the test dies. */
const BUSY = 'const end = Date.now() + 60000; while (Date.now() < end) {}';
const IDLE = 'setTimeout(() => {}, 60000);';
const ALLOC = "const b = Buffer.alloc(200 * 2 ** 20, 1); console.log('filled'); setTimeout(() => b.length, 60000);";

describe('supervisor metrics from real processes', () => {
  it('a replica spinning on the CPU is read as far over a 100m request and scales out; an idle one scales in', async () => {
    const busy = node(BUSY), idle = node(IDLE);
    const unit = apiUnit({ replicas: { min: 1, max: 10 }, scale: { cpu: 70, behavior: { scaleDown: { stabilization: '0s' } } }, resources: { cpu: '100m', memory: '256Mi' } });
    // The first reading averages over the process's life so far; wait for one showing the spin.
    const [b] = await waitFor('the busy process measured above 20% of a core', async () => {
      const u = await meter.measure([{ pid: busy.pid!, ready: true }]);
      return u[0]!.cpuCores !== null && u[0]!.cpuCores > 0.2 ? u : undefined;
    }, 30_000, 500);
    const busyUtil = utilisation([b!], unit.resources).cpuPercent!;
    // ≥ 200m against a 100m request: over 200%, i.e. usage × 1000 ÷ request millicores, in whole percent.
    expect(busyUtil).toBeGreaterThanOrEqual(200);
    expect(busyUtil).toBe(Math.trunc(Math.round(b!.cpuCores! * 1000) * 100 / 100));
    const up = createAutoscaler(unit).decide({ now: 0, current: 1, metrics: { cpuPercent: busyUtil } });
    // The default scale-up policy allows at most 4 more replicas a period: 1 → 5 at most.
    expect(up.to).toBe(Math.min(5, Math.ceil(busyUtil / 70)));

    await meter.measure([{ pid: idle.pid!, ready: true }]);
    await new Promise((res) => setTimeout(res, 1000));
    const [i] = await meter.measure([{ pid: idle.pid!, ready: true }]);
    const idleUtil = utilisation([i!], unit.resources).cpuPercent!;
    expect(idleUtil).toBeLessThan(63);
    const down = createAutoscaler(unit).decide({ now: 0, current: 4, metrics: { cpuPercent: idleUtil } });
    expect(down.to).toBeLessThan(4);
  }, 60_000);

  it('a CPU reading whose window began before the replica was ready is left out, as the HPA leaves it out', async () => {
    const busy = node(BUSY);
    const [starting] = await meter.measure([{ pid: busy.pid!, ready: false }]);
    expect(starting!.cpuCores).toBeNull();
    // Ready now, but this window began while it was not: still left out; memory is read either way.
    const [first] = await meter.measure([{ pid: busy.pid!, ready: true }]);
    expect(first!.cpuCores).toBeNull();
    expect(first!.memoryBytes).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 300));
    const [second] = await meter.measure([{ pid: busy.pid!, ready: true }]);
    expect(second!.cpuCores).not.toBeNull();
  }, 60_000);

  it('a replica holding 200 MiB against a 128Mi request scales out on memory; one of ~50 MiB against 512Mi scales in', async () => {
    const big = node(ALLOC), idle = node(IDLE);
    await new Promise<void>((res) => big.stdout!.once('data', () => res()));
    const [b, i] = await meter.measure([{ pid: big.pid!, ready: true }, { pid: idle.pid!, ready: true }]);
    expect(b!.cpuCores).toBeNull(); // a first reading: its window began before anyone saw it ready
    expect(b!.memoryBytes!).toBeGreaterThan(200 * 2 ** 20);
    const small = apiUnit({ replicas: { min: 1, max: 10 }, scale: { memory: 80 }, resources: { cpu: '100m', memory: '128Mi' } });
    const bigUtil = utilisation([b!], small.resources).memoryPercent!;
    expect(bigUtil).toBeGreaterThan(156);
    expect(createAutoscaler(small).decide({ now: 0, current: 1, metrics: { memoryPercent: bigUtil } }).to).toBe(Math.min(5, Math.ceil(bigUtil / 80)));

    const large = apiUnit({ replicas: { min: 1, max: 10 }, scale: { memory: 80, behavior: { scaleDown: { stabilization: '0s' } } }, resources: { cpu: '100m', memory: '512Mi' } });
    const idleUtil = utilisation([i!], large.resources).memoryPercent!;
    expect(idleUtil).toBeLessThan(40);
    expect(createAutoscaler(large).decide({ now: 0, current: 4, metrics: { memoryPercent: idleUtil } }).to).toBeLessThan(4);
  }, 60_000);
});
