// A CronJob's timeZone as the API server checks it (validateTimeZone): non-empty, not "Local", a
// name Go's time.LoadLocation finds, which is case-sensitive.
import { ZONE_NAMES } from './zones.js';

/** null when valid, else why not (naming the spelling that would be valid, if only the case is wrong). */
export function validateTimeZone(tz: string): string | null {
  if (tz.length === 0) return 'must be a non-empty IANA time zone name';
  if (tz.toLowerCase() === 'local') return 'must be an explicit IANA time zone, not Local';
  if (ZONE_NAMES.has(tz)) {
    try { new Intl.DateTimeFormat('en', { timeZone: tz }); } catch { return 'is an IANA name that this Node.js runtime does not know'; }
    return null;
  }
  const lower = tz.toLowerCase();
  const near = [...ZONE_NAMES].find((z) => z.toLowerCase() === lower);
  return near ? `is not an IANA time zone name (names are case-sensitive: '${near}')` : 'is not an IANA time zone name';
}
