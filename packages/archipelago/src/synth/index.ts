// Synth: the service declaration as Kubernetes objects, YAML files, a Pulumi component and a Dockerfile.
export { synthesize, SHARED_GROUP, PRIORITY_GROUP } from './synthesize.js';
export { normalize, ADMIN_PORT, PRESTOP_SECONDS, PRIORITY_VALUES, type SynthContext, type UnitPlan } from './normalize.js';
export { hpaBehavior, backlogQuery, ageQuery, CONNECTIONS_METRIC } from './autoscaling.js';
export { RUN_ON_LABEL } from './workloads.js';
export { validateSchemas, checkRules, podSpecOf } from './schemas.js';
export { toYaml, yamlFiles, writeYaml, omittedNote } from './yaml.js';
export { BUILD_DIR, dockerfile, dockerignore, IMAGE_ENTRYPOINT, imageLayout, type DockerfileOptions } from './dockerfile.js';
export type * from './objects.js';
