// The cross-object rules synth enforces, each shown holding on the reference service and refused when broken.
import { describe, expect, test } from 'vitest';
import { ArchipelagoError } from '../../src/errors.js';
import { checkRules, podSpecOf, PRESTOP_SECONDS, synthesize, validateSchemas, yamlFiles, type K8sObject } from '../../src/synth/index.js';
import { parse } from 'yaml';
import { options, referenceService, referenceSubscriptions } from './fixture.js';

const service = referenceService();
const result = synthesize(service, options);
const copy = () => structuredClone(result.objects) as K8sObject[];
const get = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name) as any;
const check = (objects: K8sObject[]) => () => checkRules(objects, service, referenceSubscriptions);
const unitOf = (o: K8sObject) => o.metadata?.labels?.['app.kubernetes.io/component'];

function expectRefusal(fn: () => void, message: RegExp) {
  let error: unknown;
  try { fn(); } catch (e) { error = e; }
  expect(error).toBeInstanceOf(ArchipelagoError);
  expect((error as ArchipelagoError).code).toBe('ARCH_E_SYNTH_INVALID');
  expect((error as Error).message).toMatch(message);
}

describe('autoscaled ⇒ no replicas', () => {
  test('no Deployment targeted by an HPA or a ScaledObject sets replicas; fixed ones do', () => {
    const targets = result.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject').map((o: any) => o.spec.scaleTargetRef.name);
    expect(targets.sort()).toEqual(['app-api-api', 'app-api-background', 'app-api-digest', 'app-api-realtime']);
    for (const o of result.objects) {
      if (o.kind !== 'Deployment') continue;
      if (targets.includes(o.metadata!.name!)) expect(o.spec).not.toHaveProperty('replicas');
      else expect(o.spec?.replicas).toBeGreaterThan(0);
    }
  });
  test('a unit with min = max is not autoscaled and keeps its replicas', () => {
    const fixed = referenceService({ units: [{ name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000, replicas: { min: 3, max: 3 } }] });
    const objs = synthesize(fixed, options).objects;
    expect(objs.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
    expect(get(objs as K8sObject[], 'Deployment', 'app-api-api').spec.replicas).toBe(3);
  });
  test('a unit without a scale target is not autoscaled, as the local autoscaler leaves it alone', () => {
    const objs = synthesize(referenceService({ units: [
      { name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000, replicas: { min: 2, max: 6 } },
      { name: 'background', kind: 'worker', entry: 'src/units/background.ts', replicas: { min: 1, max: 4 } },
    ] }), options).objects as K8sObject[];
    expect(objs.some((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject' || o.kind === 'TriggerAuthentication')).toBe(false);
    expect(get(objs, 'Deployment', 'app-api-api').spec.replicas).toBe(2);
    expect(get(objs, 'Deployment', 'app-api-background').spec.replicas).toBe(1);
  });
  test('refuses replicas on an autoscaled Deployment', () => {
    const objs = copy();
    get(objs, 'Deployment', 'app-api-api').spec.replicas = 2;
    expectRefusal(check(objs), /Deployment "app-api-api": spec\.replicas must be absent: HorizontalPodAutoscaler "app-api-api" owns/);
  });
  test('refuses an autoscaler whose target is not in the output', () => {
    const objs = copy();
    get(objs, 'ScaledObject', 'app-api-digest').spec.scaleTargetRef.name = 'app-api-nothing';
    expectRefusal(check(objs), /ScaledObject "app-api-digest": spec\.scaleTargetRef/);
  });
});

describe('each subscription ⇒ a trigger on the right unit only', () => {
  test('every subscription is counted by one trigger, on the ScaledObject of the unit that owns it', () => {
    for (const [unit, subs] of referenceSubscriptions) {
      const so = get(result.objects as K8sObject[], 'ScaledObject', `app-api-${unit}`);
      expect(so.spec.triggers).toHaveLength(1);
      for (const s of subs) {
        const mine = result.objects.filter((o) => o.kind === 'ScaledObject').filter((o: any) => o.spec.triggers.some((t: any) => t.metadata.query.includes(`'${s.name}'`)));
        expect(mine.map((o) => o.metadata?.name)).toEqual([`app-api-${unit}`]);
      }
    }
  });
  test('refuses a unit scaling on another unit\'s backlog', () => {
    const objs = copy();
    const stolen = get(objs, 'ScaledObject', 'app-api-digest').spec.triggers[0];
    get(objs, 'ScaledObject', 'app-api-background').spec.triggers.push(stolen);
    expectRefusal(check(objs), /ScaledObject "app-api-background": spec\.triggers\[1\] does not count a subscription of unit "background"/);
  });
  test('refuses a subscription left without a trigger', () => {
    const objs = copy();
    get(objs, 'ScaledObject', 'app-api-background').spec.triggers.pop();
    expectRefusal(check(objs), /has no trigger for backlog of subscriptions "post-counters", "notify-comment"/);
  });
  test('refuses a worker that scales to zero with nothing to wake it', () => {
    expectRefusal(() => synthesize(service, { ...options, subscriptions: new Map([['background', referenceSubscriptions.get('background')!]]) }),
      /Deployment "app-api-digest": .*no trigger could ever wake it/);
  });
  test('a worker at zero scaled on age alone gets an age trigger (postgres)', () => {
    const ageOnly = referenceService({ units: [{ name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', replicas: { min: 0, max: 3 }, scale: { age: '5m' } }] });
    const so = get(synthesize(ageOnly, options).objects as K8sObject[], 'ScaledObject', 'app-api-digest');
    expect(so.spec.triggers).toEqual([expect.objectContaining({ type: 'postgresql', name: 'age', metricType: 'Value', metadata: expect.objectContaining({ targetQueryValue: '300', activationTargetQueryValue: '300' }) })]);
  });
  test('refuses an age target on the nats broker, which KEDA cannot read', () => {
    const ageOnNats = referenceService({ broker: 'nats', units: [{ name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', replicas: { min: 0, max: 3 }, scale: { backlog: 20, age: '5m' } }] });
    expectRefusal(() => synthesize(ageOnNats, options), /ScaledObject "app-api-digest": .*scale\.age.*nats/);
  });
  test('refuses a worker whose age trigger was dropped', () => {
    const both = referenceService({ units: [{ name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', replicas: { min: 0, max: 3 }, scale: { backlog: 20, age: '5m' } }] });
    const objs = structuredClone(synthesize(both, options).objects) as K8sObject[];
    get(objs, 'ScaledObject', 'app-api-digest').spec.triggers.pop();
    expectRefusal(() => checkRules(objs, both, referenceSubscriptions), /has no trigger for age of subscriptions "digest-send"/);
  });
});

describe('declared secrets ⇒ only those references', () => {
  test('each pod references DATABASE_URL and exactly the secrets its unit declares, from <service>-secrets', () => {
    for (const o of result.objects) {
      const pod = podSpecOf(o);
      if (!pod) continue;
      // The provisioning Job is the toolkit's own and gets the platform's secrets only.
      const unit = unitOf(o) === 'provision' ? { secrets: [] } : service.units.find((u) => u.name === unitOf(o))!;
      const refs = pod.containers.flatMap((c) => c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom!.secretKeyRef!);
      expect(refs.map((r) => r.key).sort()).toEqual(['DATABASE_URL', ...unit.secrets].sort());
      expect(new Set(refs.map((r) => r.name))).toEqual(new Set(['app-api-secrets']));
      expect(pod.containers.flatMap((c) => c.envFrom ?? []).some((e) => e.secretRef)).toBe(false);
    }
  });
  test('refuses a reference to a secret the unit does not declare', () => {
    const objs = copy();
    get(objs, 'Deployment', 'app-api-api').spec.template.spec.containers[0].env.push({ name: 'SMTP_PASSWORD', valueFrom: { secretKeyRef: { name: 'app-api-secrets', key: 'SMTP_PASSWORD' } } });
    expectRefusal(check(objs), /Deployment "app-api-api": spec\.template\.spec\.containers\[0\]\.env\[4\] references secret "SMTP_PASSWORD", which unit "api" does not declare/);
  });
  test('refuses a whole Secret mounted with envFrom', () => {
    const objs = copy();
    get(objs, 'CronJob', 'app-api-cleanup').spec.jobTemplate.spec.template.spec.containers[0].envFrom.push({ secretRef: { name: 'app-api-secrets' } });
    expectRefusal(check(objs), /CronJob "app-api-cleanup": spec\.jobTemplate\.spec\.template\.spec\.containers\[0\]\.envFrom\[1\]\.secretRef/);
  });
  test('refuses a secret rendered as a value', () => {
    const objs = copy();
    get(objs, 'Deployment', 'app-api-api').spec.template.spec.containers[0].env[3] = { name: 'JWT_SECRET', value: 'x' };
    expectRefusal(check(objs), /env\[3\]\.value renders secret JWT_SECRET/);
  });
});

describe('grace ⇒ terminationGracePeriodSeconds', () => {
  test('long-running pods get their grace plus the preStop sleep; tasks get their grace', () => {
    for (const o of result.objects) {
      const pod = podSpecOf(o);
      if (!pod || unitOf(o) === 'provision') continue;
      const unit = service.units.find((u) => u.name === unitOf(o))!;
      const longRunning = o.kind === 'Deployment';
      expect(pod.terminationGracePeriodSeconds).toBe(unit.graceMs / 1000 + (longRunning ? PRESTOP_SECONDS : 0));
    }
    expect(get(result.objects as K8sObject[], 'Deployment', 'app-api-digest').spec.template.spec.terminationGracePeriodSeconds).toBe(120 + PRESTOP_SECONDS);
  });
  test('a fractional grace rounds up, never cutting the drain short', () => {
    const s = referenceService({ units: [{ name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000, grace: '2500ms' }] });
    const d = synthesize(s, options).objects.find((o) => o.kind === 'Deployment') as any;
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(3 + PRESTOP_SECONDS);
  });
});

describe('deploy job ⇒ ordered before Deployments', () => {
  test('in the object list and in the kustomization', () => {
    const jobAt = result.objects.findIndex((o) => o.kind === 'Job');
    const firstDeployment = result.objects.findIndex((o) => o.kind === 'Deployment' || o.kind === 'CronJob');
    expect(jobAt).toBeGreaterThanOrEqual(0);
    expect(jobAt).toBeLessThan(firstDeployment);
    const files = yamlFiles(result);
    const kustomization = parse(files.get('kustomization.yaml')!) as { resources: string[]; sortOptions: unknown };
    expect(kustomization.sortOptions).toEqual({ order: 'fifo' });
    expect(kustomization.resources.slice(0, 4)).toEqual(['_shared.yaml', '_priorityclasses.yaml', 'provision.yaml', 'migrate.yaml']);
    const withDeployments = kustomization.resources.filter((f) => /kind: Deployment/.test(files.get(f)!));
    expect(withDeployments.length).toBeGreaterThan(0);
    for (const f of withDeployments) expect(kustomization.resources.indexOf(f)).toBeGreaterThan(kustomization.resources.indexOf('migrate.yaml'));
  });
  test('refuses a deploy Job after a Deployment', () => {
    const objs = copy();
    const i = objs.findIndex((o) => o.kind === 'Job' && o.metadata?.name?.startsWith('app-api-migrate-'));
    objs.push(...objs.splice(i, 1));
    expectRefusal(check(objs), /Job "app-api-migrate-[0-9a-f]+": order must come before Deployment "app-api-api"/);
  });
});

describe('a Service\'s ports exist on the container', () => {
  test('every Service port targets a named port of the containers it selects', () => {
    for (const s of result.objects.filter((o) => o.kind === 'Service') as any[]) {
      const d = get(result.objects as K8sObject[], 'Deployment', s.metadata.name);
      for (const p of s.spec.ports) expect(d.spec.template.spec.containers[0].ports.map((cp: any) => cp.name)).toContain(p.targetPort);
    }
  });
  test('refuses a Service port the container does not expose', () => {
    const objs = copy();
    get(objs, 'Service', 'app-api-realtime').spec.ports[0].targetPort = 8080;
    expectRefusal(check(objs), /Service "app-api-realtime": spec\.ports\[0\]\.targetPort \(8080\) is not a port/);
  });
  test('refuses a Service that selects nothing', () => {
    const objs = copy();
    get(objs, 'Service', 'app-api-api').spec.selector['app.kubernetes.io/component'] = 'nope';
    expectRefusal(check(objs), /Service "app-api-api": spec\.selector selects no Deployment/);
  });
});

describe('schema refusals name the object and the field', () => {
  test('a value of the wrong type', () => {
    const objs = copy();
    get(objs, 'Deployment', 'app-api-changes').spec.replicas = 'two';
    expectRefusal(() => validateSchemas(objs), /^Deployment "app-api-changes": spec\.replicas must be integer$/);
  });
  test('a missing required field', () => {
    const objs = copy();
    delete get(objs, 'ScaledObject', 'app-api-digest').spec.triggers[0].type;
    expectRefusal(() => validateSchemas(objs), /^ScaledObject "app-api-digest": spec\.triggers\[0\]\.type is required$/);
  });
  test('a KEDA trigger metadata value that is not a string', () => {
    const objs = copy();
    get(objs, 'ScaledObject', 'app-api-digest').spec.triggers[0].metadata.targetQueryValue = 20;
    expectRefusal(() => validateSchemas(objs), /ScaledObject "app-api-digest": spec\.triggers\[0\]\.metadata\.targetQueryValue must be string/);
  });
  test('a kind synth does not know', () => {
    expectRefusal(() => validateSchemas([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }]), /Pod "p": apiVersion\/kind/);
  });
  test('a name Kubernetes would reject at apply time', () => {
    const long = referenceService({ name: 'a'.repeat(40), units: [{ name: 'weekly-digest-of-everything', kind: 'cron', schedule: '0 9 * * MON', entry: 'src/crons/weekly-digest.ts' }] });
    expectRefusal(() => synthesize(long, options), /CronJob "a{40}-weekly-digest-of-everything": metadata\.name .* longer than 52/);
  });
});
