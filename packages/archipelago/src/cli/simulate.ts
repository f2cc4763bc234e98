// `archipelago simulate <unit>`: replays a metric trace (a JSON file, or the running supervisor's
// recorded autoscaler rounds) through the unit's declared scaling rules and, with --set, an
// alternative, and prints both replica timelines side by side.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { simulate, type SimulatedStep, type TraceSample } from '../scaling/index.js';
import { findConfig, importConfig, validateService } from '../service/index.js';
import type { ResolvedUnit } from '../service/types.js';
import { control } from '../supervisor/control.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'replay a metric trace through a unit\'s scaling rules and an alternative, side by side',
  usage: 'archipelago simulate <unit> [--trace <file.json>] [--set <field>=<value>[,<field>=<value>…]] [--json] [--config <file>]',
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { config: 'string', trace: 'string', set: 'string', json: 'boolean' });
    const [name] = positionals;
    if (!name || positionals.length > 1) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    const configPath = findConfig(opts.config as string | undefined);
    const root = path.dirname(configPath);
    const raw = await importConfig(configPath);
    const declared = resolveUnit(raw, root, configPath, name, []);
    const overrides = typeof opts.set === 'string' ? parseSet(opts.set) : [];
    const alternative = overrides.length > 0 ? resolveUnit(raw, root, configPath, name, overrides) : undefined;
    const trace = typeof opts.trace === 'string'
      ? readTrace(path.resolve(opts.trace))
      : (await control<{ samples: TraceSample[] }>(root, 'GET', `/samples?unit=${encodeURIComponent(name)}`)).samples;
    if (trace.length === 0) throw new ArchipelagoError('ARCH_E_USAGE', `no metric samples for unit "${name}" (the supervisor records them while it autoscales the unit; or pass --trace)`);
    const a = simulate(declared, trace);
    const b = alternative ? simulate(alternative, trace) : undefined;
    const recorded = trace.every((s) => typeof s.to === 'number');
    const reproduced = recorded ? a.every((s, i) => s.to === trace[i]!.to) : undefined;
    if (opts.json) {
      console.log(JSON.stringify({ unit: name, overrides, reproduced, declared: a, alternative: b }, null, 2));
      return 0;
    }
    console.log(table(trace, a, b, overrides));
    if (reproduced !== undefined) console.log(`declared rules ${reproduced ? 'reproduce' : 'do NOT reproduce'} the supervisor's ${trace.length} recorded decisions`);
    const peak = (xs: readonly SimulatedStep[]) => Math.max(...xs.map((s) => s.to));
    const changes = (xs: readonly SimulatedStep[]) => xs.filter((s) => s.to !== s.from).length;
    console.log(`declared: peak ${peak(a)} replicas, ${changes(a)} changes${b ? `; alternative: peak ${peak(b)} replicas, ${changes(b)} changes` : ''}`);
    return 0;
  },
};
export default command;

/** `scale.backlog=1000,replicas.max=4` → pairs; values are JSON when they parse (numbers, true), else strings ('5m'). */
function parseSet(text: string): [string, unknown][] {
  return text.split(',').filter(Boolean).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ArchipelagoError('ARCH_E_USAGE', `--set ${JSON.stringify(pair)}: expected <field>=<value>, e.g. scale.backlog=1000`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try { value = JSON.parse(raw); } catch { /* a plain string such as '5m' */ }
    return [pair.slice(0, eq), value];
  });
}

/** The unit as the declaration resolves it, with overrides applied to its declared fields first, so they are validated alike. */
function resolveUnit(raw: unknown, root: string, configPath: string, name: string, overrides: readonly [string, unknown][]): ResolvedUnit {
  const input = structuredClone(raw) as { units?: Record<string, unknown>[] };
  const unit = input.units?.find((u) => u.name === name);
  if (!unit) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `the service declares no unit "${name}"`);
  for (const [field, value] of overrides) {
    const keys = field.split('.');
    let at: Record<string, unknown> = unit;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[keys.at(-1)!] = value;
  }
  const r = validateService(input, { root, configPath });
  if (!r.service) throw new ArchipelagoError(r.errors[0]?.code ?? 'ARCH_E_CONFIG_INVALID', r.errors.map((e) => e.message).join('; '));
  return r.service.units.find((u) => u.name === name)!;
}

function readTrace(file: string): TraceSample[] {
  let parsed: unknown;
  try { parsed = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new ArchipelagoError('ARCH_E_USAGE', `--trace ${file}: ${(e as Error).message}`); }
  const list = Array.isArray(parsed) ? parsed : (parsed as { samples?: unknown }).samples;
  if (!Array.isArray(list) || !list.every((s) => s && typeof (s as TraceSample).at === 'number' && typeof (s as TraceSample).metrics === 'object')) {
    throw new ArchipelagoError('ARCH_E_USAGE', `--trace ${file}: expected a JSON array (or { samples }) of { at: ms, metrics: { backlog?, oldestAgeMs?, cpuPercent?, … }, current? }`);
  }
  return list as TraceSample[];
}

function table(trace: readonly TraceSample[], a: readonly SimulatedStep[], b: readonly SimulatedStep[] | undefined, overrides: readonly [string, unknown][]): string {
  const t0 = trace[0]!.at;
  const show = (m: TraceSample['metrics']) => Object.entries(m).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k}=${Math.round((v as number) * 10) / 10}`).join(' ');
  const head = ['t (s)', 'metrics', 'declared', ...(b ? [`alternative (${overrides.map(([k, v]) => `${k}=${String(v)}`).join(', ')})`] : [])];
  const rows = a.map((s, i) => {
    const mark = (x: SimulatedStep) => `${x.to}${x.to !== x.from ? (x.to > x.from ? ' ↑' : ' ↓') : ''}`;
    // Only rows where something changed, plus the first and last, keep a long trace readable.
    return { keep: i === 0 || i === a.length - 1 || s.to !== s.from || (b !== undefined && b[i]!.to !== b[i]!.from), cells: [((s.at - t0) / 1000).toFixed(1), show(s.metrics), mark(s), ...(b ? [mark(b[i]!)] : [])] };
  }).filter((r) => r.keep).map((r) => r.cells);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
