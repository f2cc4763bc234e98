// `defineService()` returns its input unchanged, typed; the loader validates and resolves it.
import type { ServiceInput, UnitInput } from './types.js';

export function defineService<const T extends ServiceInput>(service: T): T {
  return service;
}

export function defineUnit<const T extends UnitInput>(unit: T): T {
  return unit;
}
