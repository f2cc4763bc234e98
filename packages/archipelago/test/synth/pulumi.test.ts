// The Pulumi component creates exactly the YAML output's objects, deploy Jobs first.
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, expect, test } from 'vitest';
import { ArchipelagoService } from '../../src/synth/pulumi.js';
import { synthesize, type K8sObject } from '../../src/synth/index.js';
import { FIXTURE_ROOT, options, referenceInput, referenceService } from './fixture.js';

const created: { type: string; name: string; inputs: any }[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call(args) { return args.inputs; },
  }, 'synth-test', 'dev', false);
});

const key = (o: { kind?: string; metadata?: { name?: string } }) => `${o.kind}/${o.metadata?.name}`;
const settle = (rs: readonly pulumi.Resource[]) => new Promise((resolve) => pulumi.all(rs.map((r) => r.urn)).apply(resolve));

test('the component\'s resources equal the YAML output, and every workload depends on the deploy Jobs', async () => {
  const deps = new Map<pulumi.Resource, pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined>();
  const component = new ArchipelagoService('app', { service: referenceService(), ...options }, {
    // Component transformations reach every child: a real view of the options each one got.
    transformations: [(a) => { deps.set(a.resource, a.opts.dependsOn); return undefined; }],
  });
  const { objects, resources } = await component.ready;
  await settle(resources);

  const expected = synthesize(referenceService(), options).objects;
  expect(objects).toEqual(expected);
  const byKey = new Map(created.filter((c) => c.name.startsWith('app-')).map((c) => [key(c.inputs), c]));
  expect([...byKey.keys()].sort()).toEqual(expected.map(key).sort());
  for (const o of expected) expect(byKey.get(key(o))!.inputs).toEqual(JSON.parse(JSON.stringify(o)));
  expect(byKey.get('Deployment/app-api-api')!.type).toBe('kubernetes:apps/v1:Deployment');
  expect(byKey.get('ScaledObject/app-api-digest')!.type).toBe('kubernetes:keda.sh/v1alpha1:ScaledObject');

  const jobIndex = objects.findIndex((o) => o.kind === 'Job');
  const job = resources[jobIndex]!;
  for (const [i, o] of objects.entries()) {
    if (o.kind !== 'Deployment' && o.kind !== 'CronJob') continue;
    const d = deps.get(resources[i]!) as pulumi.Resource[];
    expect(d, key(o)).toContain(job);
  }
  expect(deps.get(job) as pulumi.Resource[]).not.toContain(job);
});

test('transform changes an object before creation, and an invalid result is refused', async () => {
  const bump = new ArchipelagoService('bump', {
    service: referenceService(), ...options,
    transform: (o: K8sObject) => (o.kind === 'ConfigMap' && o.metadata?.name === 'app-api-api-env' ? { ...o, data: { ...o.data, EXTRA: '1' } } : o),
  });
  const { objects } = await bump.ready;
  expect((objects.find((o) => o.metadata?.name === 'app-api-api-env') as any).data.EXTRA).toBe('1');

  expect(() => new ArchipelagoService('broken', {
    service: referenceService(), ...options,
    transform: (o: K8sObject) => (o.kind === 'Deployment' ? ({ ...o, spec: { ...o.spec, replicas: 'many' } } as any) : o),
  })).toThrow(/^Deployment "app-api-api": spec\.replicas must be integer/);
});

test('from a declaration object, reading the subscriptions from the entry files', async () => {
  const { subscriptions: _s, ...rest } = options;
  const c = new ArchipelagoService('decl', { config: referenceInput(), root: FIXTURE_ROOT, ...rest });
  const { objects } = await c.ready;
  expect(objects).toEqual(synthesize(referenceService(), options).objects);
});
