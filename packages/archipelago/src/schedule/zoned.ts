// Wall-clock arithmetic in an IANA zone, with Go's time package rules, because robfig/cron's Next
// (and so the CronJob controller) is written against them: `fields` is Time.In(loc).Date()/Clock(),
// `date` is time.Date (which resolves a wall time in a gap or an overlap in one particular way).
// Offsets come from Intl, which reads the same tz database.

export interface WallFields { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: number }

const SECOND = 1000;
const HOUR_MS = 3_600_000;

export class Zone {
  private readonly fmt: Intl.DateTimeFormat | undefined;
  /** Offsets per UTC hour in which the offset does not change (checked at both ends); Intl is slow. */
  private readonly hourly = new Map<number, number>();

  constructor(readonly name: string) {
    this.fmt = name === 'UTC' ? undefined : new Intl.DateTimeFormat('en-US', {
      timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  /** The wall clock at instant `ms` (whole seconds). */
  fields(ms: number): WallFields {
    const d = new Date(Math.floor(ms / SECOND) * SECOND + this.offset(ms));
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), weekday: d.getUTCDay() };
  }

  /** Offset from UTC at instant `ms`, in ms (east positive), to the second. */
  offset(ms: number): number {
    if (!this.fmt) return 0;
    const hour = Math.floor(ms / HOUR_MS);
    const cached = this.hourly.get(hour);
    if (cached !== undefined) return cached;
    const start = this.exactOffset(hour * HOUR_MS), end = this.exactOffset(hour * HOUR_MS + HOUR_MS - SECOND);
    if (start === end) {
      if (this.hourly.size > 10_000) this.hourly.clear();
      this.hourly.set(hour, start);
      return start;
    }
    return this.exactOffset(ms);
  }

  private exactOffset(ms: number): number {
    const t = Math.floor(ms / SECOND) * SECOND;
    const out: Record<string, string> = {};
    for (const p of this.fmt!.formatToParts(t)) out[p.type] = p.value;
    return Date.UTC(Number(out.year), Number(out.month) - 1, Number(out.day), Number(out.hour), Number(out.minute), Number(out.second)) - t;
  }

  /**
   * time.Date(year, month, day, hour, min, sec, 0, loc): fields out of range normalise (month 13 is
   * January of the next year, day 0 the last of the previous month). A wall time that does not exist
   * or exists twice is resolved as Go does: take the offset in force at the wall time read as UTC;
   * if the instant it gives lies outside that offset's period, use the offset in force at that instant.
   */
  date(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
    const wall = Date.UTC(year, month - 1, day, hour, minute, second);
    if (!this.fmt) return wall;
    const first = this.offset(wall);
    const second_ = this.offset(wall - first);
    return wall - (second_ === first ? first : second_);
  }
}

