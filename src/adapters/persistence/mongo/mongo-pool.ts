// The driver's connection pool, followed through its CMAP events, as two numbers a gauge can show.
import type { MongoClient } from 'mongodb';

export interface PoolGauges {
  /** Connections open right now, and of those, checked out by an operation. */
  poolConnections(open: number, inUse: number): void;
}

/**
 * Follows the pool by connection: a connection closed while checked out (a network error, a pool cleared
 * under it) leaves both counts, and a closed pool takes all of its own.
 */
export function watchPool(client: MongoClient, gauges: PoolGauges): void {
  const open = new Set<string>();
  const inUse = new Set<string>();
  const key = (event: { address?: string; connectionId?: unknown }): string =>
    `${event.address}#${String(event.connectionId)}`;
  const update = (): void => gauges.poolConnections(open.size, inUse.size);
  client.on('connectionCreated', (event) => {
    open.add(key(event));
    update();
  });
  client.on('connectionClosed', (event) => {
    open.delete(key(event));
    inUse.delete(key(event));
    update();
  });
  client.on('connectionCheckedOut', (event) => {
    inUse.add(key(event));
    update();
  });
  client.on('connectionCheckedIn', (event) => {
    inUse.delete(key(event));
    update();
  });
  client.on('connectionPoolClosed', (event) => {
    for (const set of [open, inUse])
      for (const entry of [...set]) if (entry.startsWith(`${event.address}#`)) set.delete(entry);
    update();
  });
}
