// Prometheus series of a relay. Looked up before created, so several relays (or a restarted one)
// can share a registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface RelayMetrics {
  readonly active: Gauge<'service' | 'unit'>;
  readonly lagBytes: Gauge<'service' | 'unit'>;
  readonly lagSeconds: Gauge<'service' | 'unit'>;
  readonly retainedBytes: Gauge<'service' | 'unit'>;
  readonly changes: Counter<'service' | 'unit'>;
}

function gauge(registry: Registry, name: string, help: string): Gauge<'service' | 'unit'> {
  return (registry.getSingleMetric(name) as Gauge<'service' | 'unit'> | undefined)
    ?? new Gauge({ name, help, labelNames: ['service', 'unit'], registers: [registry] });
}

export function relayMetrics(registry: Registry): RelayMetrics {
  const changesName = 'archipelago_cdc_changes_total';
  return {
    active: gauge(registry, 'archipelago_cdc_active', '1 while this replica is the active relay, 0 on standby'),
    lagBytes: gauge(registry, 'archipelago_cdc_lag_bytes', 'WAL bytes written since the slot\'s confirmed position'),
    lagSeconds: gauge(registry, 'archipelago_cdc_lag_seconds', 'Seconds since the commit of the oldest change not yet accepted by the broker'),
    retainedBytes: gauge(registry, 'archipelago_cdc_retained_wal_bytes', 'WAL bytes the replication slot keeps from being recycled'),
    changes: (registry.getSingleMetric(changesName) as Counter<'service' | 'unit'> | undefined)
      ?? new Counter({ name: changesName, help: 'Row changes the broker accepted', labelNames: ['service', 'unit'], registers: [registry] }),
  };
}
