// The pod every unit runs: one image, `archipelago run <unit>`, probes, resources, drain, secure defaults.
import type { IContainer, IEnvVar, IPodTemplateSpec, IProbe } from 'kubernetes-models/v1';
import { shortHash, type SynthContext, type UnitPlan } from './normalize.js';
import { ENV, POD_PROBES, PRESTOP_SECONDS } from '../contracts.js';
import { listens } from '../service/kinds.js';

/** The one container of every pod. */
export const CONTAINER_NAME = 'unit';
/** Runs as this uid (the `node` user of the official Node image). */
export const RUN_AS_USER = 1000;

export function metadata(ctx: SynthContext, name: string, labels: Readonly<Record<string, string>>, annotations?: Record<string, string>) {
  return { name, namespace: ctx.opts.namespace, labels: { ...labels }, ...(annotations ? { annotations } : {}) };
}

export function podTemplate(ctx: SynthContext, plan: UnitPlan, opts: { restartPolicy?: 'Always' | 'Never' | 'OnFailure' } = {}): IPodTemplateSpec {
  const annotations: Record<string, string> = {
    // Rolls the pods when the unit's ConfigMap changes (a ConfigMap edit alone restarts nothing).
    'archipelago.dev/config-hash': shortHash(JSON.stringify(plan.configData)),
  };
  if (plan.port !== undefined) {
    annotations['prometheus.io/scrape'] = 'true';
    annotations['prometheus.io/port'] = String(plan.port);
    annotations['prometheus.io/path'] = '/metrics';
  }
  return {
    metadata: { labels: { ...plan.labels }, annotations },
    spec: {
      serviceAccountName: ctx.serviceAccount,
      automountServiceAccountToken: false,
      priorityClassName: plan.priorityClassName,
      terminationGracePeriodSeconds: plan.terminationGraceSeconds,
      ...(opts.restartPolicy ? { restartPolicy: opts.restartPolicy } : {}),
      securityContext: {
        runAsNonRoot: true, runAsUser: RUN_AS_USER, runAsGroup: RUN_AS_USER, fsGroup: RUN_AS_USER,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [container(ctx, plan)],
      // The root filesystem is read-only; tsx and Node write their caches under /tmp.
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
    },
  };
}

function container(ctx: SynthContext, plan: UnitPlan): IContainer {
  const { unit } = plan;
  const env: IEnvVar[] = [
    { name: ENV.replica, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    // After ARCHIPELAGO_REPLICA: the kubelet expands `$(ARCHIPELAGO_REPLICA)` only from variables defined before.
    ...Object.entries(plan.replicaEnv).map(([name, value]): IEnvVar => ({ name, value })),
    // An optional key may be missing from the Secret: the pod starts and the variable is unset.
    ...plan.secretKeys.map((key): IEnvVar => ({
      name: key, valueFrom: { secretKeyRef: { name: ctx.secretName, key, ...(unit.optionalSecrets.includes(key) ? { optional: true } : {}) } },
    })),
  ];
  const listening = listens(unit);
  const c: IContainer = {
    name: CONTAINER_NAME,
    image: ctx.opts.image,
    imagePullPolicy: 'IfNotPresent',
    // The image's ENTRYPOINT is the archipelago CLI (see dockerfile.ts).
    args: ['run', unit.name],
    envFrom: [{ configMapRef: { name: plan.configMapName } }],
    env,
    resources: {
      requests: { cpu: unit.resources.cpu, memory: unit.resources.memory },
      // No CPU limit: throttling a busy Node process hurts latency more than it protects neighbours.
      limits: { memory: unit.resources.memory },
    },
    securityContext: {
      runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
  if (plan.port !== undefined) c.ports = [{ name: listening ? 'http' : 'admin', containerPort: plan.port, protocol: 'TCP' }];
  if (plan.health && plan.port !== undefined) {
    const portName = listening ? 'http' : 'admin';
    const probe = (path: string, p: Omit<IProbe, 'httpGet'>): IProbe => ({ httpGet: { path, port: portName }, ...p });
    c.startupProbe = probe(plan.health.liveness, POD_PROBES.startup);
    c.readinessProbe = probe(plan.health.readiness, POD_PROBES.readiness);
    c.livenessProbe = probe(plan.health.liveness, POD_PROBES.liveness);
    // Endpoints drop the pod while it sleeps; SIGTERM then starts the drain with nothing new arriving.
    c.lifecycle = { preStop: { exec: { command: ['sleep', String(PRESTOP_SECONDS)] } } };
  }
  return c;
}
