// Cron schedules as Kubernetes reads and runs them: grammar, next times, zones, controller decisions.
export { CronSyntaxError, nextAfter, parseSchedule, type Field, type Schedule } from './cron.js';
export { mostRecentScheduleTime, nextWakeAt, syncCron, UnsatisfiableScheduleError, type CronRecord, type CronSpec, type Missed, type SyncDecision } from './controller.js';
export { validateTimeZone } from './timezone.js';
export { ZONE_NAMES, TZDATA_VERSION } from './zones.js';
