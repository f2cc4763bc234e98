// The app-api service: one codebase, every unit kind, each scaled on its own signal.
import { defineService } from 'archipelago-toolkit';

export default defineService({
  name: 'app-api',
  migrations: 'migrations',
  units: [
    { name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000,
      replicas: { min: 1, max: 4 }, scale: { cpu: 70 }, resources: { cpu: '500m', memory: '512Mi' } },
    { name: 'background', kind: 'worker', entry: 'src/units/background.ts',
      replicas: { min: 1, max: 4 }, scale: { backlog: 100 } },
    { name: 'realtime', kind: 'realtime', entry: 'src/units/realtime.ts', port: 3001,
      replicas: { min: 1, max: 4 }, scale: { connections: 5000 } },
    // 200 users a message: a large run is a backlog of hundreds of messages, so the unit scales out
    // from 0. Its backlog is read every second (KEDA's shortest interval), so a run wakes it sooner.
    { name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', priority: 'background',
      replicas: { min: 0, max: 4 }, scale: { backlog: 20, polling: '1s' }, env: { DIGEST_TOP_POSTS: '10' },
      // Without SMTP_URL the digest writes to a file outbox (src/domain/transport.ts).
      secrets: [{ name: 'SMTP_URL', optional: true }] },
    // Hourly: each run picks the users whose local time is Monday morning (see the cron's file).
    // DIGEST_ANY_TIME=1 queues every opted-in user now, whatever their local time (demos, tests).
    { name: 'weekly-digest', kind: 'cron', entry: 'src/crons/weekly-digest.ts', schedule: '5 * * * *', secrets: [{ name: 'DIGEST_ANY_TIME', optional: true }] },
    { name: 'trending', kind: 'cron', entry: 'src/crons/trending.ts', schedule: '*/10 * * * *' },
    { name: 'cleanup', kind: 'cron', entry: 'src/crons/cleanup.ts', schedule: '30 3 * * *' },
    { name: 'migrate', kind: 'job', entry: 'src/jobs/migrate.ts', runOn: 'deploy' },
    // Both create users with known passwords (src/domain/demo-credentials.ts): never deployed.
    { name: 'demo-seed', kind: 'job', entry: 'src/jobs/demo-seed.ts', runOn: 'deploy', localOnly: true },
    { name: 'seed', kind: 'job', entry: 'src/jobs/seed.ts', runOn: 'manual', deadline: '1h', localOnly: true },
    { name: 'changes', kind: 'cdc', tables: ['posts', 'upvotes', 'comments'] },
  ],
});
