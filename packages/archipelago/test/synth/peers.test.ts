// `archipelago-toolkit/pulumi` loads @pulumi/* as optional peers: without them the import fails with a coded
// error naming what to install; any other load failure is passed on unchanged.
import { describe, expect, it } from 'vitest';
import { loadPeers, PULUMI_PEERS } from '../../src/synth/peers.js';

const notFound = (s: string) => Object.assign(new Error(`Cannot find package '${s}'`), { code: 'ERR_MODULE_NOT_FOUND' });

describe('optional pulumi peers', () => {
  it('names every missing peer and the install command', async () => {
    const err = await loadPeers(PULUMI_PEERS, async (s) => { throw notFound(s); }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCH_E_PEER_MISSING' });
    expect((err as Error).message).toContain('@pulumi/pulumi and @pulumi/kubernetes');
    expect((err as Error).message).toContain('npm install @pulumi/pulumi @pulumi/kubernetes');
  });

  it('names only the peer that is missing', async () => {
    const err = await loadPeers(PULUMI_PEERS, async (s) => { if (s === '@pulumi/kubernetes') throw notFound(s); return {}; }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/needs @pulumi\/kubernetes, which is not installed/);
  });

  it('passes on a peer that is installed but broken', async () => {
    const broken = new SyntaxError('Unexpected token');
    await expect(loadPeers(PULUMI_PEERS, async () => { throw broken; })).rejects.toBe(broken);
  });

  it('returns the modules when they are installed', async () => {
    const [pulumi, k8s] = await loadPeers<[{ ComponentResource: unknown }, { core: unknown }]>(PULUMI_PEERS);
    expect(typeof pulumi.ComponentResource).toBe('function');
    expect(k8s.core).toBeDefined();
  });
});
