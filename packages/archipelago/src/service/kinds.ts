// The unit kinds, once: what each kind accepts, its defaults and how it runs. Validation, the
// supervisor, the unit hosts, synth and the catalog read this table instead of re-deciding
// "does this kind listen / run until stopped / scale on its backlog" where they need it.
import type { Duration, Priority, UnitKind } from './types.js';

/** What the entry file of a kind must default-export (`task` for crons and jobs); none for cdc. */
export type EntryExport = 'api' | 'worker' | 'realtime' | 'task';

export interface KindSpec {
  readonly kind: UnitKind;
  /** Fields this kind accepts beyond the common ones. */
  readonly fields: readonly string[];
  /** Fields of `scale` this kind accepts; empty when the kind does not scale. */
  readonly scaleFields: readonly string[];
  readonly defaults: { readonly grace: Duration; readonly priority: Priority; readonly replicas: { readonly min: number; readonly max: number } };
  /** Serves HTTP on its declared `port` (its health paths there); other long-running kinds serve an admin port. */
  readonly listens: boolean;
  /** Replicas run until stopped (a Deployment); otherwise each run is one process (a CronJob or Job). */
  readonly longRunning: boolean;
  /** May have `replicas.min: 0`, woken by its backlog. */
  readonly scalesToZero: boolean;
  /** What replicas are added for: request utilisation or connections, the message backlog, or nothing. */
  readonly autoscaledBy: 'utilisation' | 'backlog' | null;
  readonly entryExport: EntryExport | undefined;
  /** Several of them may share one process (`--single-process`, `runInProcess`). */
  readonly sharesProcess: boolean;
}

/** The fields every kind accepts. */
export const COMMON_FIELDS = ['name', 'kind', 'entry', 'replicas', 'resources', 'env', 'secrets', 'priority', 'grace', 'localOnly', 'environments'] as const;

const LISTENING_FIELDS = ['port', 'health', 'scale', 'trustProxy', 'validation'] as const;
const UTILISATION_SCALE = ['cpu', 'memory', 'connections', 'behavior'] as const;

const table: Record<UnitKind, KindSpec> = {
  api: {
    kind: 'api', fields: LISTENING_FIELDS, scaleFields: UTILISATION_SCALE,
    defaults: { grace: '30s', priority: 'critical', replicas: { min: 1, max: 1 } },
    listens: true, longRunning: true, scalesToZero: false, autoscaledBy: 'utilisation', entryExport: 'api', sharesProcess: true,
  },
  realtime: {
    kind: 'realtime', fields: LISTENING_FIELDS, scaleFields: UTILISATION_SCALE,
    defaults: { grace: '60s', priority: 'critical', replicas: { min: 1, max: 1 } },
    listens: true, longRunning: true, scalesToZero: false, autoscaledBy: 'utilisation', entryExport: 'realtime', sharesProcess: true,
  },
  worker: {
    kind: 'worker', fields: ['scale'], scaleFields: ['backlog', 'age', 'activation', 'cooldown', 'polling', 'fallback', 'behavior'],
    defaults: { grace: '30s', priority: 'normal', replicas: { min: 1, max: 1 } },
    listens: false, longRunning: true, scalesToZero: true, autoscaledBy: 'backlog', entryExport: 'worker', sharesProcess: true,
  },
  cron: {
    kind: 'cron', fields: ['schedule', 'timezone', 'concurrency', 'deadline', 'startingDeadline'], scaleFields: [],
    defaults: { grace: '30s', priority: 'normal', replicas: { min: 0, max: 1 } },
    listens: false, longRunning: false, scalesToZero: false, autoscaledBy: null, entryExport: 'task', sharesProcess: false,
  },
  job: {
    kind: 'job', fields: ['runOn', 'deadline'], scaleFields: [],
    defaults: { grace: '30s', priority: 'normal', replicas: { min: 0, max: 1 } },
    listens: false, longRunning: false, scalesToZero: false, autoscaledBy: null, entryExport: 'task', sharesProcess: false,
  },
  // Two relays by default: one holds the slot, the other stands by to take over.
  cdc: {
    kind: 'cdc', fields: ['tables', 'maxRetainedBytes'], scaleFields: [],
    defaults: { grace: '10s', priority: 'normal', replicas: { min: 1, max: 2 } },
    listens: false, longRunning: true, scalesToZero: false, autoscaledBy: null, entryExport: undefined, sharesProcess: true,
  },
};

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
};

export const KINDS: Readonly<Record<UnitKind, KindSpec>> = deepFreeze(table);
export const KIND_NAMES: readonly UnitKind[] = Object.freeze(Object.keys(table) as UnitKind[]);

export const isKind = (k: unknown): k is UnitKind => typeof k === 'string' && Object.hasOwn(KINDS, k);
export const kindOf = (unit: { readonly kind: UnitKind }): KindSpec => KINDS[unit.kind];
/** Serves HTTP on its own port (api, realtime). */
export const listens = (unit: { readonly kind: UnitKind }): boolean => KINDS[unit.kind].listens;
/** Runs replicas until stopped (api, realtime, worker, cdc). */
export const longRunning = (unit: { readonly kind: UnitKind }): boolean => KINDS[unit.kind].longRunning;
