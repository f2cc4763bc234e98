// `archipelago up --single-process`: every unit of the service in this one process.
import { ArchipelagoError } from '../errors.js';
import type { ResolvedService } from '../service/types.js';

export async function runSingleProcess(_service: ResolvedService, _opts: { only?: readonly string[]; json: boolean }): Promise<number> {
  throw new ArchipelagoError('ARCH_E_USAGE', '--single-process needs the unit hosts (units/run.ts)');
}
