// The migrate job (runs on deploy, before the long-running units): applies migrations/*.sql.
import { migrate, task } from 'archipelago-toolkit';

export default task(async (ctx) => {
  const url = ctx.config.DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const { applied, skipped } = await migrate(url, ctx.service.migrationsDir, (m) => ctx.logger.info(m));
  ctx.logger.info({ applied: applied.length, skipped: skipped.length }, 'migrations up to date');
});
