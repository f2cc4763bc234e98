// Loads `@pulumi/*`, the optional peer dependencies of `archipelago-toolkit/pulumi`: a service that writes
// YAML never installs them, and one that imports the component without them is told what to install.
import { ArchipelagoError } from '../errors.js';

export const PULUMI_PEERS = ['@pulumi/pulumi', '@pulumi/kubernetes'] as const;

type Importer = (specifier: string) => Promise<unknown>;

export async function loadPeers<T extends readonly unknown[]>(specifiers: readonly string[], importer: Importer = (s) => import(s)): Promise<T> {
  const loaded = await Promise.allSettled(specifiers.map((s) => importer(s)));
  const missing = specifiers.filter((_, i) => {
    const r = loaded[i]!;
    return r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
  });
  if (missing.length > 0) {
    throw new ArchipelagoError('ARCH_E_PEER_MISSING',
      `archipelago-toolkit/pulumi needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed: run \`npm install ${specifiers.join(' ')}\``);
  }
  const failed = loaded.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return loaded.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
