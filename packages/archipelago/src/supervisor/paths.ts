// Where a service keeps its local state; a module of its own so `status` and the control client
// find the supervisor without loading the database drivers.
import path from 'node:path';

export function stateDir(root: string): string {
  return path.join(root, '.archipelago');
}

export function databaseFile(root: string): string {
  return path.join(stateDir(root), 'database.json');
}
