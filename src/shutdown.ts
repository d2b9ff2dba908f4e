import type http from 'node:http';
import type { Logger } from 'pino';

/** What stops, in the order it stops. */
export interface ShutdownParts {
  /** SHUTDOWN_GRACE_MS: the whole stop is bounded by it. */
  graceMs: number;
  log: Logger;
  /** Called first: readiness drops, so no new traffic is sent here. */
  onStopping: () => void;
  server: http.Server;
  metricsServer: http.Server | null;
  slack: { stop(): Promise<void> };
  reconciler: { stop(): Promise<void> } | null;
  nudger: { stop(): Promise<void> };
  gate: { settled(): Promise<void> };
  worker: { stop(graceMs: number): Promise<boolean> };
  store: { close(options?: { inFlight?: boolean }): Promise<void> };
}

/**
 * Stops accepting, finishes what is in flight (requests, decisions, deliveries) within the
 * grace period, then closes the database. Returns a stop that runs once however often called.
 */
export function shutdownOnce(o: ShutdownParts): () => Promise<void> {
  let stopped: Promise<void> | null = null;
  return () => {
    stopped ??= (async () => {
      const deadline = Date.now() + o.graceMs;
      o.onStopping();
      o.log.info('shutting down: finishing requests and deliveries in flight');
      const closed = new Promise<void>((resolve) => o.server.close(() => resolve()));
      o.server.closeIdleConnections();
      // close() drops only the connections idle right now; a keep-alive one busy at the signal
      // (a proxy's, a load balancer's) would hold the stop until the deadline and leave no time
      // for deliveries. Let each go as soon as its answer is out.
      const letGo = setInterval(() => o.server.closeIdleConnections(), 20);
      const bounded = <T>(work: Promise<T>) =>
        Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      await bounded(closed);
      clearInterval(letGo);
      o.server.closeAllConnections();
      await bounded(o.slack.stop());
      await bounded(o.reconciler?.stop() ?? Promise.resolve());
      await bounded(o.nudger.stop());
      await bounded(o.gate.settled());
      const drained = await o.worker.stop(Math.max(0, deadline - Date.now()));
      if (!drained) o.log.warn('deliveries still in flight at shutdown: they are sent again once their leases lapse (DELIVERY_LEASE_SECONDS on PostgreSQL; at the next start on SQLite)');
      o.metricsServer?.closeAllConnections();
      o.metricsServer?.close();
      await o.store.close({ inFlight: !drained });
      o.log.info('stopped');
    })();
    return stopped;
  };
}
