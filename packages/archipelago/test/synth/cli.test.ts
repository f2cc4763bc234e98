// `archipelago synth --out` writes what synthesize() returns; the Dockerfile builds the image the pods expect.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, expect, test, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { dockerfile, IMAGE_ENTRYPOINT, synthesize, writeYaml, yamlFiles } from '../../src/synth/index.js';
import { FIXTURE_ROOT, options, referenceService } from './fixture.js';
import { TOOLKIT } from '../../src/toolkit.js';

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

test('synth --out writes a file per unit and a kustomization, equal to synthesize()', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'arch-synth-'));
  dirs.push(out);
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation(() => {});
  const code = await main(['synth', '--config', path.join(FIXTURE_ROOT, 'archipelago.config.ts'), '--out', out,
    '--image', options.image, '--namespace', options.namespace, '--environment', options.environment]);
  expect(code).toBe(0);
  const expected = yamlFiles(synthesize(referenceService(), options));
  expect((await readdir(out)).sort()).toEqual([...expected.keys()].sort());
  for (const [name, content] of expected) expect(await readFile(path.join(out, name), 'utf8'), name).toBe(content);
  // Every document parses back to an object with a kind.
  const docs = parseAllDocuments(await readFile(path.join(out, 'api.yaml'), 'utf8'));
  expect(docs.map((d) => (d.toJS() as { kind: string }).kind)).toEqual(['ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']);
});

test('synth without --out or --dockerfile is a usage error', async () => {
  vi.spyOn(console, 'error').mockImplementation(() => {});
  expect(await main(['synth', '--config', path.join(FIXTURE_ROOT, 'archipelago.config.ts')])).toBe(2);
});

test('the Dockerfile is multi-stage, non-root, and its entrypoint is the CLI the pods pass `run <unit>` to', () => {
  const text = dockerfile(referenceService());
  expect(text.match(/^FROM node:24-slim/gm)).toHaveLength(2);
  expect(text).toMatch(/^FROM node:24-slim AS build$/m);
  expect(text).toMatch(/^RUN npm ci$/m);
  // One build of the service; the final stage gets its output and production dependencies only.
  expect(text).toMatch(/^RUN npm run build && mkdir \/image && cp -r dist\/\. \/image\/ /m);
  expect(text).toMatch(/^RUN npm ci --omit=dev/m);
  expect(text).toMatch(/^COPY --from=build \/image \/app$/m);
  expect(text.slice(text.lastIndexOf('FROM'))).not.toMatch(/RUN/);
  expect(text).toMatch(/^USER 1000:1000$/m);
  expect(text).toContain(`ENTRYPOINT ${JSON.stringify(IMAGE_ENTRYPOINT)}`);
  expect(text.indexOf('USER')).toBeGreaterThan(text.lastIndexOf('FROM'));
  // The entrypoint is this package's bin, installed under node_modules/<its name>.
  const bin = IMAGE_ENTRYPOINT[1].split(`node_modules/${TOOLKIT.name}/`)[1]!;
  expect(existsSync(path.resolve(FIXTURE_ROOT, '../../..', bin))).toBe(true);
  const pod = (synthesize(referenceService(), options).objects.find((o) => o.kind === 'Deployment') as any).spec.template.spec.containers[0];
  expect(pod.command).toBeUndefined();
  expect(pod.args).toEqual(['run', 'api']);
});

test('in an npm workspace the build context is the workspace root and the workdir the service folder', () => {
  const text = dockerfile(referenceService(), { workspace: 'services/app-api', node: 22 });
  expect(text).toMatch(/^FROM node:22-slim AS build$/m);
  expect(text).toMatch(/^COPY \. \.$/m);
  // The toolkit is built in the image; the final stage runs from the service's folder.
  expect(text).toMatch(/^RUN npm run build --workspace packages\/archipelago/m);
  expect(text.slice(text.lastIndexOf('FROM')).split('\n')).toContain('WORKDIR /app/services/app-api');
});

test('kubectl\'s kustomize keeps the apply order: deploy Job before every Deployment', async (ctx) => {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log('skipped: kubectl is not installed here');
    return ctx.skip();
  }
  const out = await mkdtemp(path.join(os.tmpdir(), 'arch-kz-'));
  dirs.push(out);
  const result = synthesize(referenceService(), options);
  await writeYaml(out, result);
  const built = spawnSync('kubectl', ['kustomize', out], { encoding: 'utf8', timeout: 30_000 });
  expect(built.status, built.stderr).toBe(0);
  const kinds = parseAllDocuments(built.stdout).map((d) => { const o = d.toJS() as K8sLike; return `${o.kind}/${o.metadata.name}`; });
  expect(kinds).toEqual(result.objects.map((o) => `${o.kind}/${o.metadata?.name}`));
});

interface K8sLike { kind: string; metadata: { name: string } }
