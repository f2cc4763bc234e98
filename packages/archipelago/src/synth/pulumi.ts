// `archipelago-toolkit/pulumi`: the same objects as the YAML output, created by a Pulumi component on
// @pulumi/kubernetes, with deploy Jobs first and every workload depending on them.
import type * as pulumi from '@pulumi/pulumi';
import type * as k8s from '@pulumi/kubernetes';
import type { SubscriptionSpec } from '../messaging/broker.js';
import { loadCatalog } from '../service/catalog.js';
import { loadService } from '../service/load.js';
import type { OmittedUnit } from '../service/environments.js';
import type { ResolvedService, ServiceInput } from '../service/types.js';
import { resolveService } from '../service/validate.js';
import { RUN_ON_LABEL } from './workloads.js';
import { loadPeers, PULUMI_PEERS } from './peers.js';
import { PRIORITY_GROUP, SHARED_GROUP, synthesize } from './synthesize.js';
import type { K8sObject } from './objects.js';
import { lint } from './lint.js';
import { validateSchemas } from './schemas.js';

export type { K8sObject } from './objects.js';

export interface ArchipelagoServiceArgs {
  /** The declaration: a path to `archipelago.config.ts`, or the object `defineService()` returned. */
  readonly config?: string | ServiceInput;
  /** Folder the entry files of an object `config` are relative to. Default: the current directory. */
  readonly root?: string;
  /** An already resolved service (instead of `config`). */
  readonly service?: ResolvedService;
  readonly image: string;
  readonly namespace: string;
  /** Default `production`. */
  readonly environment?: string;
  /** Subscriptions per unit; read from the units' entry files when omitted. */
  readonly subscriptions?: ReadonlyMap<string, readonly SubscriptionSpec[]>;
  /** Escape hatch: change any object before it is created (it is validated again afterwards). */
  readonly transform?: (obj: K8sObject) => K8sObject;
}

const [P, K] = await loadPeers<[typeof pulumi, typeof k8s]>(PULUMI_PEERS);

type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;
const TYPED: Record<string, Ctor> = {
  'v1/ConfigMap': K.core.v1.ConfigMap, 'v1/Service': K.core.v1.Service, 'v1/ServiceAccount': K.core.v1.ServiceAccount,
  'apps/v1/Deployment': K.apps.v1.Deployment, 'autoscaling/v2/HorizontalPodAutoscaler': K.autoscaling.v2.HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': K.policy.v1.PodDisruptionBudget, 'scheduling.k8s.io/v1/PriorityClass': K.scheduling.v1.PriorityClass,
  'batch/v1/CronJob': K.batch.v1.CronJob, 'batch/v1/Job': K.batch.v1.Job,
};

export class ArchipelagoService extends P.ComponentResource {
  /** Resolves, once every child is registered, to the objects created and their resources. */
  readonly ready: Promise<{ objects: readonly K8sObject[]; resources: readonly pulumi.CustomResource[]; omitted: readonly OmittedUnit[] }>;

  constructor(name: string, args: ArchipelagoServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args hold functions and Maps the engine cannot serialise; they stay in this process.
    super('archipelago:index:Service', name, {}, opts);
    // With the service and its subscriptions at hand, a refusal throws here, at the line that caused it.
    const service = args.service ?? (typeof args.config === 'object' ? resolveService(args.config, args.root ? { root: args.root } : {}) : undefined);
    this.ready = service && args.subscriptions
      ? Promise.resolve(this.create(name, objectsFor(service, args.subscriptions, args)))
      : (async () => {
        const s = service ?? await resolveConfig(args);
        const subscriptions = args.subscriptions ?? (await loadCatalog(s)).subscriptions;
        return this.create(name, objectsFor(s, subscriptions, args));
      })();
    this.registerOutputs(this.ready.then(({ objects, omitted }) => ({
      objects: objects.map((o) => `${o.kind}/${o.metadata?.name}`),
      omitted: omitted.map((o) => `${o.unit} (${o.reason})`),
    })));
  }

  private create(name: string, synth: { groups: readonly { name: string; objects: readonly K8sObject[] }[]; omitted: readonly OmittedUnit[] }) {
    const { groups, omitted } = synth;
    for (const o of omitted) void P.log.info(`left out unit "${o.unit}" (${o.reason}): it does not exist in this environment`, this);
    // Parallel lists: objects[i] is what resources[i] was created from.
    const objects: K8sObject[] = [];
    const resources: pulumi.CustomResource[] = [];
    const create = (o: K8sObject, dependsOn: pulumi.Resource[]) => {
      const key = `${o.apiVersion}/${o.kind}`;
      const resName = `${name}-${o.kind.toLowerCase()}-${o.metadata?.name}`;
      const ro: pulumi.CustomResourceOptions = { parent: this, dependsOn };
      const r = TYPED[key] ? new TYPED[key](resName, o, ro) : new K.apiextensions.CustomResource(resName, o as any, ro);
      objects.push(o);
      resources.push(r);
      return r;
    };
    const base = groups.filter((g) => g.name === SHARED_GROUP || g.name === PRIORITY_GROUP).flatMap((g) => g.objects.map((o) => create(o, [])));
    const isDeployJob = (o: K8sObject) => o.kind === 'Job' && o.metadata?.labels?.[RUN_ON_LABEL] === 'deploy';
    const deployJobs: pulumi.Resource[] = [];
    const units = groups.filter((g) => g.name !== SHARED_GROUP && g.name !== PRIORITY_GROUP);
    // Deploy jobs first (Pulumi waits for a Job to complete), then everything else after them.
    for (const pass of [true, false]) {
      for (const g of units) {
        if (g.objects.some(isDeployJob) !== pass) continue;
        const configs = g.objects.filter((o) => o.kind === 'ConfigMap').map((o) => create(o, base));
        for (const o of g.objects) {
          if (o.kind === 'ConfigMap') continue;
          const workload = o.kind === 'Deployment' || o.kind === 'CronJob' || o.kind === 'Job';
          const r = create(o, workload ? [...base, ...configs, ...(pass ? [] : deployJobs)] : [...base, ...(pass ? [] : deployJobs)]);
          if (isDeployJob(o)) deployJobs.push(r);
        }
      }
    }
    return { objects, resources, omitted };
  }
}

/** The synthesised groups after the user's transform, validated again. */
function objectsFor(service: ResolvedService, subscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]>, args: ArchipelagoServiceArgs) {
  const result = synthesize(service, { image: args.image, namespace: args.namespace, environment: args.environment ?? 'production', subscriptions });
  const transform = args.transform ?? ((o: K8sObject) => o);
  const groups = result.groups.map((g) => ({ name: g.name, objects: g.objects.map((o) => transform(structuredClone(o))) }));
  validateSchemas(groups.flatMap((g) => g.objects));
  lint(groups.flatMap((g) => g.objects));
  return { groups, omitted: result.omitted };
}

async function resolveConfig(args: ArchipelagoServiceArgs): Promise<ResolvedService> {
  if (typeof args.config === 'string') return (await loadService(args.config)).service;
  throw new TypeError('ArchipelagoService: pass `config` (a path or a declaration) or `service`');
}
