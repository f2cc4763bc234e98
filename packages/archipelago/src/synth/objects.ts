// The plain, typed Kubernetes objects synth produces (the lower of its two layers) and its options.
import type { IConfigMap, IService, IServiceAccount } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IPriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import type { ICronJob, IJob } from 'kubernetes-models/batch/v1';
import type { IScaledObject, ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { SubscriptionSpec } from '../messaging/broker.js';
import type { OmittedUnit } from '../service/environments.js';

export type {
  IConfigMap, IService, IServiceAccount, IDeployment, IHorizontalPodAutoscaler, IPodDisruptionBudget,
  IPriorityClass, ICronJob, IJob, IScaledObject, ITriggerAuthentication,
};

/** Every kind synth emits. Plain data: no classes, so YAML and Pulumi see exactly the same thing. */
export type K8sObject =
  | IConfigMap | IService | IServiceAccount | IDeployment | IHorizontalPodAutoscaler | IPodDisruptionBudget
  | IPriorityClass | ICronJob | IJob | IScaledObject | ITriggerAuthentication;

export type K8sKind = K8sObject['kind'];

export interface SynthOptions {
  /** The one image every unit runs, e.g. `ghcr.io/acme/app-api:1.4.2`. */
  readonly image: string;
  readonly namespace: string;
  /** A name for the deployment target (`production`, `staging`); becomes a label and an env var. */
  readonly environment: string;
  /** Subscriptions per owning unit, as `loadCatalog(service).subscriptions` returns them. */
  readonly subscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]>;
}

/** Objects grouped by the file they are written to; `order` is the apply order. */
export interface SynthGroup {
  /** `_shared`, `_priorityclasses`, or a unit name. */
  readonly name: string;
  readonly objects: readonly K8sObject[];
}

export interface SynthResult {
  /** Every object, in apply order. */
  readonly objects: readonly K8sObject[];
  readonly groups: readonly SynthGroup[];
  /** Units of the declaration that do not exist in this environment (`localOnly`, `environments`), left out. */
  readonly omitted: readonly OmittedUnit[];
}
