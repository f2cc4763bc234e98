// `npm run bench [-- <scenario>...] [--size small|full]`: runs scenarios, writes
// bench/results/<scenario>.json and regenerates the table in BENCHMARKS.md.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { medianFigures, type Figure, type Result, type Scenario, type Size } from './types.js';
import { runsFor, settle } from './lib/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const resultsDir = path.resolve(here, '../results');
const benchmarksFile = path.resolve(here, '../../BENCHMARKS.md');

export async function loadScenarios(): Promise<Scenario[]> {
  const dir = path.join(here, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  const out: Scenario[] = [];
  for (const f of files) out.push(((await import(pathToFileURL(path.join(dir, f)).href)) as { default: Scenario }).default);
  return out;
}

export function machine(): Result['machine'] {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** Runs a scenario BENCH_RUNS times (3 at full size), each after the load settles, and keeps the medians. */
export async function runScenario(s: Scenario, size: Size): Promise<Result> {
  const runs = s.repeatsItself ? 1 : runsFor(size);
  const all: Figure[][] = [];
  const loads: number[] = [];
  for (let i = 0; i < runs; i++) {
    loads.push(size === 'full' ? await settle() : os.loadavg()[0]!);
    all.push(await s.run(size));
  }
  const figures = runs === 1 ? all[0]! : medianFigures(all, loads);
  return { scenario: s.name, size, machine: machine(), date: new Date().toISOString(), figures };
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));

export function renderTable(results: readonly Result[]): string {
  const lines = ['| scenario | figure | unit | ours | baseline | ratio | size | date |', '| --- | --- | --- | ---: | ---: | ---: | --- | --- |'];
  for (const r of results) {
    for (const f of r.figures) {
      // A median of runs shows its spread, and a run that started on a busy machine is marked.
      const ours = f.spread ? `${fmt(f.ours)} (${fmt(f.spread.ours[0])}–${fmt(f.spread.ours[1])})` : fmt(f.ours);
      const ratio = f.spread ? `${fmt(f.ratio)} (${fmt(f.spread.ratio[0])}–${fmt(f.spread.ratio[1])})` : fmt(f.ratio);
      const size = f.runs ? `${r.size}, median of ${f.runs}${(f.loadBefore ?? 0) > 1 ? `, load ${fmt(f.loadBefore!)} before (not quiet)` : ''}` : r.size;
      lines.push(`| ${r.scenario} | ${f.name} | ${f.unit} | ${ours} | ${fmt(f.baseline)} | ${ratio} | ${size} | ${r.date.slice(0, 10)} |`);
    }
  }
  return lines.join('\n');
}

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

export function updateBenchmarks(): void {
  const results = existsSync(resultsDir)
    ? readdirSync(resultsDir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as Result)
    : [];
  const text = readFileSync(benchmarksFile, 'utf8');
  const a = text.indexOf(START), b = text.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`BENCHMARKS.md lacks the ${START} / ${END} markers`);
  writeFileSync(benchmarksFile, `${text.slice(0, a + START.length)}\n${renderTable(results)}\n${text.slice(b)}`);
}

async function main(argv: string[]) {
  let size: Size = 'full';
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--size') size = argv[++i] as Size;
    else if (a.startsWith('--size=')) size = a.slice(7) as Size;
    else names.push(a);
  }
  if (size !== 'small' && size !== 'full') throw new Error(`--size must be small or full, got ${String(size)}`);
  const all = await loadScenarios();
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  const chosen = names.length ? all.filter((s) => names.includes(s.name)) : all;
  mkdirSync(resultsDir, { recursive: true });
  let failed = 0;
  for (const s of chosen) {
    console.log(`bench: ${s.name} (${size})`);
    try {
      const r = await runScenario(s, size);
      writeFileSync(path.join(resultsDir, `${s.name}.json`), `${JSON.stringify(r, null, 2)}\n`);
      for (const f of r.figures) console.log(`  ${f.name}: ours ${fmt(f.ours)} ${f.unit}, baseline ${fmt(f.baseline)}, ratio ${fmt(f.ratio)}`);
    } catch (e) {
      failed++;
      console.error(`bench: ${s.name} failed:`, e);
    }
  }
  updateBenchmarks();
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
}
