// What the CronJob controller keeps in a CronJob's status, kept locally across restarts of the
// supervisor: when a cron was first seen (its creationTimestamp) and its lastScheduleTime, so a run
// missed while the supervisor was down is caught up (the most recent one, within startingDeadline).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CronRecord } from '../schedule/index.js';
import { stateDir } from './paths.js';

export class CronRecords {
  private readonly file: string;
  private readonly records: Record<string, CronRecord>;

  constructor(root: string) {
    this.file = path.join(stateDir(root), 'crons.json');
    let read: Record<string, CronRecord> = {};
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object') read = parsed as Record<string, CronRecord>;
    } catch { /* first start, or an unreadable file: every cron counts as new */ }
    this.records = read;
  }

  /** The record of `name`, created (as of `now`) when there is none. */
  get(name: string, now: number): CronRecord {
    const r = this.records[name];
    if (r && typeof r.createdAt === 'number' && (r.lastScheduleTime === null || typeof r.lastScheduleTime === 'number')) return r;
    return this.set(name, { createdAt: now, lastScheduleTime: null });
  }

  set(name: string, rec: CronRecord): CronRecord {
    this.records[name] = rec;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      // Written whole and renamed, so a crash never leaves half a file.
      writeFileSync(`${this.file}.tmp`, JSON.stringify(this.records, null, 2));
      renameSync(`${this.file}.tmp`, this.file);
    } catch { /* the schedule still runs; only a later catch-up would be lost */ }
    return rec;
  }
}
