import type { Logger } from 'pino';
import { planRepairs, type Repair } from './domain/reconcile.js';
import type { Gate } from './gate.js';
import { eventFor, ReconcileClient, type ListedMergeRequest, type Project } from './gitlab/reconcile-client.js';
import type { LeasePort, ReconcilePort } from './ports.js';

export interface SweepSummary {
  projects: number;
  mergeRequests: number;
  repaired: Record<Repair['kind'], number>;
  errors: number;
}

export interface ReconcilerOptions {
  gate: Gate;
  store: ReconcilePort & LeasePort;
  log: Logger;
  gitlab: { url: string; token: string; timeoutMs: number };
  /** GITLAB_PROJECTS: ids or paths watched besides every project the bot has had a call for. */
  projects: string[];
  intervalMs: number;
  /** PUBLIC_URL + BASE_PATH + /status_check: a status check with this URL is the bot's. */
  ourUrl: string | null;
  /** Least time between two GitLab calls. */
  paceMs?: number;
  onSweep?: (summary: SweepSummary, ok: boolean) => void;
}

/**
 * Asks GitLab what the bot missed: at start-up and then every interval, one sweep at a time.
 * What to repair is the domain's decision (planRepairs); each repair goes through the same
 * gate path as a call from GitLab or a decision, so cards, audit and outbox stay one road.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#abort.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#running = this.sweep().then(() => this.#schedule(this.#o.intervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  /**
   * One sweep over every watched project; never throws. On several replicas only the one
   * holding the lease sweeps: the others return null until it lapses.
   */
  async sweep(): Promise<SweepSummary | null> {
    const { log } = this.#o;
    const started = Date.now();
    const summary: SweepSummary = { projects: 0, mergeRequests: 0, repaired: { created: 0, rereported: 0, retired: 0 }, errors: 0 };
    const client = new ReconcileClient({ ...this.#o.gitlab, paceMs: this.#o.paceMs ?? 100, signal: this.#abort.signal });
    const watched = new Map<string, number | string>();
    try {
      // A few intervals long, and never under 30 s: a replica that dies hands over within that.
      if (!(await this.#o.store.holdLease('reconciler', Math.max(30_000, 3 * this.#o.intervalMs), started))) return null;
      for (const id of await this.#o.store.knownProjects()) watched.set(String(id), id);
    } catch (error) {
      summary.errors += 1;
      log.warn({ error: (error as Error).message }, 'reconcile: the database could not be read; the next sweep tries again');
      this.#o.onSweep?.(summary, false);
      return summary;
    }
    for (const p of this.#o.projects) if (!watched.has(p)) watched.set(p, p);
    const seenProjects = new Set<number>();
    for (const idOrPath of watched.values()) {
      if (this.#abort.signal.aborted) break;
      try {
        const project = await client.project(idOrPath);
        if (seenProjects.has(project.id)) continue;
        seenProjects.add(project.id);
        summary.projects += 1;
        await this.#sweepProject(client, project, summary);
      } catch (error) {
        if (this.#abort.signal.aborted) break;
        summary.errors += 1;
        log.warn({ project: idOrPath, error: (error as Error).message }, 'reconcile: a project could not be swept');
      }
    }
    const ok = summary.errors === 0 && !this.#abort.signal.aborted;
    this.#o.onSweep?.(summary, ok);
    log.info({ ...summary, ms: Date.now() - started }, 'reconcile sweep done');
    return summary;
  }

  async #sweepProject(client: ReconcileClient, project: Project, summary: SweepSummary): Promise<void> {
    const { store } = this.#o;
    const seenIds = new Set(await store.statusCheckIdsSeen(project.id));
    const open = await client.openMergeRequests(project.id);
    const openIids = new Set(open.map((mr) => mr.iid));
    for (const mr of open) {
      if (this.#abort.signal.aborted) return;
      summary.mergeRequests += 1;
      try {
        const statusChecks = await client.statusChecks(project.id, mr.iid);
        const known = await store.checksOfMergeRequest(project.id, mr.iid);
        await this.#apply(project, mr, planRepairs({ state: mr.state, sha: mr.sha ?? null, statusChecks }, known, seenIds, this.#o.ourUrl), summary);
      } catch (error) {
        summary.errors += 1;
        this.#o.log.warn({ project: project.path, mr: mr.iid, error: (error as Error).message }, 'reconcile: a merge request could not be checked');
      }
    }
    // Waiting checks whose merge request is no longer open: merged or closed meanwhile.
    for (const iid of (await store.mergeRequestsWaiting(project.id)).filter((i) => !openIids.has(i))) {
      if (this.#abort.signal.aborted) return;
      try {
        const mr = await client.mergeRequest(project.id, iid);
        const known = await store.checksOfMergeRequest(project.id, iid);
        await this.#apply(project, mr, planRepairs({ state: mr.state, sha: mr.sha ?? null, statusChecks: [] }, known, seenIds, this.#o.ourUrl), summary);
      } catch (error) {
        summary.errors += 1;
        this.#o.log.warn({ project: project.path, mr: iid, error: (error as Error).message }, 'reconcile: a merge request could not be checked');
      }
    }
  }

  async #apply(project: Project, mr: ListedMergeRequest, repairs: Repair[], summary: SweepSummary): Promise<void> {
    const { gate, store, log } = this.#o;
    for (const repair of repairs) {
      let done = false;
      if (repair.kind === 'created' && mr.sha) {
        done = (await gate.receive(eventFor(project, mr, { id: repair.statusCheckId, name: repair.statusCheckName }, mr.sha), 'reconciled')).created;
      } else if (repair.kind === 'rereported') {
        done = await gate.reReport(repair.checkId, 'GitLab never accepted it (found by the sweep)');
      } else if (repair.kind === 'retired') {
        // The merge request ended: tell the gate as GitLab's own call would have, for the commit that waits.
        const waiting = (await store.checksOfMergeRequest(project.id, mr.iid)).filter((c) => c.statusCheckId === repair.statusCheckId && c.state === 'pending');
        for (const check of waiting) {
          const { check: after } = await gate.receive(eventFor(project, mr, { id: check.statusCheckId, name: check.statusCheckName }, check.sha), 'reconciled');
          done = done || after.state !== 'pending';
        }
      }
      if (done) {
        summary.repaired[repair.kind] += 1;
        log.info({ project: project.path, mr: mr.iid, repair: repair.kind }, 'reconcile: repaired');
      }
    }
  }
}
