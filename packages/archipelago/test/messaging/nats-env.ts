// Whether the local NATS server is reachable: tests skip with a printed reason, except under CI=true.
import net from 'node:net';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export async function natsReachable(): Promise<boolean> {
  const u = new URL(NATS_URL.replace(/^nats:/, 'http:'));
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 4222), u.hostname);
    s.setTimeout(1000);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

/** Top-level await in a test file: true when NATS tests should run; throws under CI when unreachable. */
export async function requireNats(file: string): Promise<boolean> {
  if (await natsReachable()) return true;
  if (process.env.CI === 'true') throw new Error(`${file}: NATS is not reachable at ${NATS_URL}, and CI=true requires it`);
  console.log(`${file}: skipped: NATS is not reachable at ${NATS_URL}`);
  return false;
}
