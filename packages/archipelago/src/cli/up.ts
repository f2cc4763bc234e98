// `archipelago up`: runs the whole service locally under the supervisor until Ctrl-C or SIGTERM.
import { loadService } from '../service/index.js';
import { ArchipelagoError } from '../errors.js';
import { parseArgs, reportError, type Command } from './main.js';

const command: Command = {
  summary: 'run every unit locally: database, deploy jobs, replicas, crons, autoscaling',
  usage: `archipelago up [--config <file>] [--only <unit,unit>] [--single-process] [--json] [--console-port <n>] [--no-console] [--traces | --no-traces]

  --config <file>     the service declaration (default: archipelago.config.ts here or above)
  --only <units>      run only these units (comma-separated)
  --single-process    run every unit in this one process (tiny setups, the isolation benchmark)
  --json              print raw JSON log lines instead of rendered ones (NO_COLOR turns colours off)
  --console-port <n>  serve the browser console on 127.0.0.1:<n> (default 4000; 0 picks a free port)
  --no-console        do not serve the console
  --traces            collect the replicas' OpenTelemetry traces (default: on when the console is)
  --no-traces         do not collect traces: replicas export no spans

Timings (probe periods, restart back-off 1s doubling to 30s, autoscaler polling) can be tuned with
ARCHIPELAGO_SUPERVISOR='{"backoff":{"initialMs":1000,"maxMs":30000},"pollingMs":2000}'.`,
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { config: 'string', only: 'string', 'single-process': 'boolean', json: 'boolean', 'console-port': 'string', 'no-console': 'boolean', traces: 'boolean', 'no-traces': 'boolean' });
    if (positionals.length > 0) throw new ArchipelagoError('ARCH_E_USAGE', `unexpected argument "${positionals[0]}"`);
    const { service, warnings } = await loadService(opts.config as string | undefined);
    for (const w of warnings) console.error(`warning ${w.code}: ${w.message}`);
    const only = typeof opts.only === 'string' ? opts.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const json = opts.json === true;
    const consolePort = Number(opts['console-port'] ?? 4000);
    if (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535) throw new ArchipelagoError('ARCH_E_USAGE', `--console-port must be a port number, not "${String(opts['console-port'])}"`);
    const { Supervisor } = await import('../supervisor/supervisor.js');
    // Traces are for the console to show; --traces collects them without it (the tracing benchmark).
    const traces = opts['no-traces'] !== true && (opts.traces === true || opts['no-console'] !== true);
    const sup = new Supervisor(service, { only, json, traces, strategy: opts['single-process'] ? 'in-process' : 'processes' });
    let signals = 0;
    let exitCode = 0;
    let closeConsole: (() => Promise<void>) | undefined;
    const done = new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          // A second Ctrl-C means "now": kill every child and leave.
          sup.forceKill();
          process.exit(130);
        }
        sup.logs.info(`${sig}: stopping (press Ctrl-C again to kill at once)`);
        void Promise.resolve(closeConsole?.()).catch(() => {}).then(() => sup.stop()).then(resolve);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      // In one process, the units may end by themselves (an overrun, a failed host): so does `up`.
      void sup.ended.then(() => Promise.resolve(closeConsole?.()).catch(() => {}).then(() => sup.stop()).then(resolve));
    });
    try {
      await sup.start();
      if (opts['no-console'] !== true) {
        const { attachConsole } = await import('../supervisor/console.js');
        closeConsole = (await attachConsole(sup, { port: consolePort }))?.close;
      }
    } catch (e) {
      exitCode = reportError(e);
      return exitCode;
    }
    await done;
    return Math.max(exitCode, sup.exitCode);
  },
};
export default command;
