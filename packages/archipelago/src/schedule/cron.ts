// Cron schedules with the grammar and semantics Kubernetes gives a CronJob: robfig/cron v3's
// standard parser (ParseStandard) and its Next. Written here rather than kept on croner because
// croner's grammar is wider (L, W, #, seconds: schedules `validate` passed and the API server then
// rejected) and its daylight-saving rules differ; parity is only provable with the same algorithm,
// run against robfig's and the controller's own case tables (test/schedule/). Cost, measured on the
// shared 2-core machine for '30 9 * * 1-5' in Europe/Paris: about 2.5 ms a next time against croner's
// 2 ms (Intl offsets, cached per hour); a scheduler asks a few times a minute, so that is no concern.

import { Zone } from './zoned.js';

export class CronSyntaxError extends Error {}

interface Bounds { min: number; max: number; names?: Record<string, number> }
const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = { min: 1, max: 12, names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 } };
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** The values a field allows, and whether it was written as a bare `*` or `?` (robfig's star bit). */
export interface Field { readonly values: ReadonlySet<number>; readonly star: boolean }

export type Schedule =
  | { readonly kind: 'spec'; readonly minute: Field; readonly hour: Field; readonly dom: Field; readonly month: Field; readonly dow: Field }
  | { readonly kind: 'every'; readonly delayMs: number };

function int(s: string): number {
  // strconv.Atoi: optional sign, decimal digits only.
  if (!/^[+-]?\d+$/.test(s)) throw new CronSyntaxError(`failed to parse int from ${s}`);
  const n = Number(s);
  if (n < 0) throw new CronSyntaxError(`negative number (${n}) not allowed: ${s}`);
  return n;
}

function intOrName(s: string, b: Bounds): number {
  const named = b.names?.[s.toLowerCase()];
  return named ?? int(s);
}

function range(expr: string, b: Bounds): Field {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0]!.split('-');
  let start: number, end: number, step = 1, star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = b.min; end = b.max; star = true;
  } else {
    start = intOrName(lowAndHigh[0]!, b);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1]!, b);
    else throw new CronSyntaxError(`too many hyphens: ${expr}`);
  }
  if (rangeAndStep.length === 2) {
    step = int(rangeAndStep[1]!);
    // "N/step" means "N-max/step".
    if (lowAndHigh.length === 1) end = b.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) throw new CronSyntaxError(`too many slashes: ${expr}`);
  if (start < b.min) throw new CronSyntaxError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new CronSyntaxError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new CronSyntaxError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronSyntaxError(`step of range should be a positive number: ${expr}`);
  const values = new Set<number>();
  for (let i = start; i <= end; i += step) values.add(i);
  return { values, star };
}

function field(text: string, b: Bounds): Field {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',').filter((p) => p !== '')) {
    const r = range(part, b);
    for (const v of r.values) values.add(v);
    star ||= r.star;
  }
  return { values, star };
}

const all = (b: Bounds): Field => range('*', b);
const only = (v: number): Field => ({ values: new Set([v]), star: false });
const DESCRIPTORS: Record<string, () => Schedule> = {
  '@yearly': () => ({ kind: 'spec', minute: only(0), hour: only(0), dom: only(1), month: only(1), dow: all(DOW) }),
  '@monthly': () => ({ kind: 'spec', minute: only(0), hour: only(0), dom: only(1), month: all(MONTHS), dow: all(DOW) }),
  '@weekly': () => ({ kind: 'spec', minute: only(0), hour: only(0), dom: all(DOM), month: all(MONTHS), dow: only(0) }),
  '@daily': () => ({ kind: 'spec', minute: only(0), hour: only(0), dom: all(DOM), month: all(MONTHS), dow: all(DOW) }),
  '@hourly': () => ({ kind: 'spec', minute: only(0), hour: all(HOURS), dom: all(DOM), month: all(MONTHS), dow: all(DOW) }),
};
DESCRIPTORS['@annually'] = DESCRIPTORS['@yearly']!;
DESCRIPTORS['@midnight'] = DESCRIPTORS['@daily']!;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, enough for `@every`: a sequence of decimal numbers with units. */
function goDuration(s: string): number {
  let rest = s, sign = 1, total = 0;
  if (rest.startsWith('-') || rest.startsWith('+')) { sign = rest.startsWith('-') ? -1 : 1; rest = rest.slice(1); }
  if (rest === '0') return 0;
  if (rest === '') throw new CronSyntaxError(`failed to parse duration @every ${s}`);
  while (rest !== '') {
    const m = /^(\d*(?:\.\d*)?)([a-zµμ]+)/.exec(rest);
    if (!m || m[1] === '' || m[1] === '.' || UNIT_MS[m[2]!] === undefined) throw new CronSyntaxError(`failed to parse duration @every ${s}`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/**
 * Parses a schedule as Kubernetes does: robfig's ParseStandard (exactly five fields, or a
 * descriptor), and the API server's own refusal of a `TZ=`/`CRON_TZ=` prefix (the zone is the
 * `timezone` field). Throws CronSyntaxError with robfig's wording.
 */
export function parseSchedule(spec: string): Schedule {
  if (spec.length === 0) throw new CronSyntaxError('empty spec string');
  if (spec.includes('TZ')) throw new CronSyntaxError('cannot use TZ or CRON_TZ in schedule, use the timezone field instead');
  if (spec.startsWith('@')) {
    const d = DESCRIPTORS[spec];
    if (d) return d();
    if (spec.startsWith('@every ')) {
      // robfig's Every: at least one second, whole seconds.
      const ms = goDuration(spec.slice('@every '.length));
      return { kind: 'every', delayMs: ms < 1000 ? 1000 : ms - (ms % 1000) };
    }
    throw new CronSyntaxError(`unrecognized descriptor: ${spec}`);
  }
  const fields = spec.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new CronSyntaxError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  return {
    kind: 'spec', minute: field(fields[0]!, MINUTES), hour: field(fields[1]!, HOURS), dom: field(fields[2]!, DOM),
    month: field(fields[3]!, MONTHS), dow: field(fields[4]!, DOW),
  };
}

function dayMatches(s: Extract<Schedule, { kind: 'spec' }>, day: number, weekday: number): boolean {
  const domMatch = s.dom.values.has(day), dowMatch = s.dow.values.has(weekday);
  // A star in either field: both must match; otherwise either may (cron's classic rule).
  return s.dom.star || s.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
}

const MINUTE = 60_000, HOUR = 3_600_000;
const zones = new Map<string, Zone>();
/** One Zone (formatter and offset cache) per name for the process. */
function zoneFor(name: string): Zone {
  let z = zones.get(name);
  if (!z) zones.set(name, (z = new Zone(name)));
  return z;
}

/**
 * The first activation strictly after `afterMs` (in whole seconds), or null when none exists within
 * five years (robfig's zero time). Follows spec.go's Next step by step: months, days (correcting an
 * hour that DST moved off midnight), hours and minutes are advanced on the absolute clock, so a
 * wall time skipped by a spring-forward gap never fires and one repeated by a fall-back fires twice
 * for hourly fields.
 */
export function nextAfter(s: Schedule, afterMs: number, zoneName = 'UTC'): number | null {
  let t = Math.floor(afterMs / 1000) * 1000 + 1000;
  if (s.kind === 'every') return Math.floor(afterMs / 1000) * 1000 + s.delayMs;
  const zone = zoneFor(zoneName);
  let f = zone.fields(t);
  let added = false;
  const yearLimit = f.year + 5;
  const set = (ms: number) => { t = ms; f = zone.fields(t); };
  // Seconds are always 0 in the standard grammar.
  wrap: for (;;) {
    if (f.year > yearLimit) return null;
    while (!s.month.values.has(f.month)) {
      if (!added) { added = true; set(zone.date(f.year, f.month, 1)); }
      set(zone.date(f.year, f.month + 1, f.day, f.hour, f.minute, f.second));
      if (f.month === 1) continue wrap;
    }
    while (!dayMatches(s, f.day, f.weekday)) {
      if (!added) { added = true; set(zone.date(f.year, f.month, f.day)); }
      set(zone.date(f.year, f.month, f.day + 1, f.hour, f.minute, f.second));
      if (f.hour !== 0) set(f.hour > 12 ? t + (24 - f.hour) * HOUR : t - f.hour * HOUR);
      if (f.day === 1) continue wrap;
    }
    while (!s.hour.values.has(f.hour)) {
      if (!added) { added = true; set(zone.date(f.year, f.month, f.day, f.hour)); }
      set(t + HOUR);
      if (f.hour === 0) continue wrap;
    }
    while (!s.minute.values.has(f.minute)) {
      if (!added) { added = true; set(Math.floor(t / MINUTE) * MINUTE); }
      set(t + MINUTE);
      if (f.minute === 0) continue wrap;
    }
    while (f.second !== 0) {
      if (!added) { added = true; set(Math.floor(t / 1000) * 1000); }
      set(t + 1000);
      if (f.second === 0) continue wrap;
    }
    return t;
  }
}
