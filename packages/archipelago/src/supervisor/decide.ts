// A minimal HPA/KEDA-style replica recommendation, used until `scaling/` provides the full one:
// HPA ratio with its 0.1 tolerance for cpu/memory/connections, ceil(backlog / target) for workers,
// activation and cooldown for scale from and to zero, a scale-down stabilisation window, min/max.
import type { ResolvedUnit } from '../service/types.js';

export interface ScaleMetrics { cpuPercent?: number; memoryPercent?: number; connections?: number; backlog?: number | null; oldestAgeMs?: number | null }
export interface ScaleInput { now: number; current: number; metrics: ScaleMetrics }
export interface ScaleOutput { from: number; to: number; reason: string; metrics: ScaleMetrics }
export interface Autoscaler { decide(input: ScaleInput): ScaleOutput }

const TOLERANCE = 0.1;

export function createAutoscaler(unit: ResolvedUnit): Autoscaler {
  const recs: { at: number; n: number }[] = [];
  let lastActive = 0;
  return {
    decide({ now, current, metrics }) {
      const { min, max } = unit.replicas;
      let raw: number | undefined;
      let why = '';
      if (unit.kind === 'worker') {
        const s = unit.scale;
        const backlog = metrics.backlog;
        if (backlog === null || backlog === undefined) {
          raw = s.fallback ?? current;
          why = 'backlog unreadable: fallback';
        } else {
          const wants: { n: number; why: string }[] = [];
          if (s.backlog !== undefined) wants.push({ n: Math.ceil(backlog / s.backlog), why: `backlog ${backlog} / target ${s.backlog}` });
          if (s.ageMs !== undefined && metrics.oldestAgeMs) wants.push({ n: Math.ceil(metrics.oldestAgeMs / s.ageMs), why: `oldest ${metrics.oldestAgeMs} ms / target ${s.ageMs} ms` });
          const best = wants.reduce((a, b) => (b.n > a.n ? b : a), { n: 0, why: 'no target' });
          if (backlog > 0) lastActive = now;
          if (current === 0 && backlog <= s.activation) { raw = 0; why = `backlog ${backlog} ≤ activation ${s.activation}`; }
          else if (best.n === 0 && current > 0 && min === 0) {
            raw = now - lastActive >= s.cooldownMs ? 0 : Math.max(1, current);
            why = raw === 0 ? `idle for the cooldown (${s.cooldownMs} ms)` : 'idle, waiting for the cooldown';
          } else { raw = Math.max(best.n, min === 0 && backlog > 0 ? 1 : 0); why = best.why; }
        }
      } else if (unit.kind === 'api' || unit.kind === 'realtime') {
        const s = unit.scale;
        const pairs: [string, number | undefined, number | undefined][] = [
          ['cpu', metrics.cpuPercent, s.cpu], ['memory', metrics.memoryPercent, s.memory], ['connections', metrics.connections, s.connections]];
        for (const [name, value, target] of pairs) {
          if (value === undefined || target === undefined) continue;
          const ratio = value / target;
          const n = Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(current * ratio);
          if (raw === undefined || n > raw) { raw = n; why = `${name} ${round(value)} / target ${target}`; }
        }
        if (raw === undefined) { raw = current; why = 'no metric'; }
      } else {
        raw = current;
        why = 'not autoscaled';
      }
      let to = Math.min(max, Math.max(min, raw));
      if (to !== raw) why += ` (clamped to ${min}..${max})`;
      // Scale-down stabilisation: use the highest recommendation within the window.
      recs.push({ at: now, n: to });
      const window = 'scale' in unit ? unit.scale.behavior.scaleDown.stabilizationMs : 0;
      while (recs.length > 0 && recs[0]!.at < now - window) recs.shift();
      if (to < current) {
        const held = Math.max(...recs.map((r) => r.n));
        if (held > to) { to = Math.min(current, held); why += ` (held by the ${window} ms scale-down window)`; }
      }
      return { from: current, to, reason: why, metrics };
    },
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
