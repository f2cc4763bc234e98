// The service model: declaration, validation, loading.
export * from './types.js';
export { defineService, defineUnit } from './define-service.js';
export { validateService, resolveService, type ValidateOptions, type ValidationResult } from './validate.js';
export { loadService, findConfig, importConfig, unitByName, CONFIG_FILE, type LoadedService } from './load.js';
export { LOCAL_ENVIRONMENT, runsIn, forEnvironment, type OmittedUnit } from './environments.js';
export { parseCpu, parseMemory, parseDuration, formatDuration } from './quantity.js';
export { loadCatalog, loadDefinition, subscriptionSpec, changeTopicName, SUBSCRIPTION_DEFAULTS, type Catalog } from './catalog.js';
