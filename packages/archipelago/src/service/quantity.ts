// Kubernetes quantities and duration strings, parsed strictly.

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** CPU quantity (`'500m'`, `'2'`, `'0.5'`) to millicores, or undefined when malformed. */
export function parseCpu(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) return undefined;
  const n = Number(m[1]);
  const millis = m[2] === 'm' ? n : n * 1000;
  return millis > 0 ? Math.round(millis) : undefined;
}

/** Memory quantity (`'512Mi'`, `'1G'`, `'1e9'`) to bytes, or undefined when malformed. */
export function parseMemory(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(q);
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  const mult = binary[suffix] ?? decimal[suffix];
  if (mult === undefined) return undefined;
  const bytes = Number(m[1]) * mult;
  return bytes > 0 ? Math.round(bytes) : undefined;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `'30s'` to milliseconds, or undefined when malformed. */
export function parseDuration(d: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(d);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * durationUnits[m[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
