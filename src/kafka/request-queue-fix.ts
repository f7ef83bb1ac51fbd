/**
 * Stops kafkajs 2.2.4's request queues from spinning on a timer.
 *
 * Every broker connection has a request queue, and after any response the queue schedules a
 * check of its pending requests. With nothing pending and no broker throttling, the delay it
 * computes is negative, so the check runs on the next timer tick and schedules itself again: each
 * connection that ever had a response runs a ~1 ms timer loop for as long as it is open (kafkajs
 * issues #1556, #1604 and #1704; the fix proposed in pull request #1667 is not released, and 2.2.4
 * is kafkajs's last release). Here an idle kafkajs consumer woke its process ~1,600 times a second
 * and took 60–120 ms of CPU a second doing nothing; on this project's machines a wake-up costs
 * tens of microseconds, and the detector holds a dozen connections.
 *
 * The replacement schedules a check only when a request is waiting, at the end of the broker's
 * throttling or after kafkajs's own 10 ms: a request waits only when pushed while the queue could
 * not send it (push schedules the check), and every response and every timeout checks the queue
 * anyway. Otherwise it is the method it replaces.
 *
 * The class is a module of the package's rather than of its typed API (as `client.ts` reads its
 * error table): kafkajs 2.x is no longer released and will not move it. Were it missing, nothing
 * is changed and `applied` says so.
 */
import { createRequire } from 'node:module';

/** kafkajs's own interval for a waiting request's next look (requestQueue/index.js). */
export const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** What the replacement reads and writes of a kafkajs RequestQueue. */
interface RequestQueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

/** kafkajs's scheduleCheckPendingRequests without the timer loop when nothing waits. */
function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.pending.length === 0 || this.throttleCheckTimeoutId) return;
  const throttledFor = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

function patchRequestQueue(): boolean {
  try {
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: Record<string, unknown> };
    if (typeof RequestQueue.prototype['scheduleCheckPendingRequests'] !== 'function') return false;
    RequestQueue.prototype['scheduleCheckPendingRequests'] = scheduleCheckPendingRequests;
    return true;
  } catch {
    return false;
  }
}

/** Whether kafkajs's request queues were patched (done once, when this module is first imported). */
export const applied = patchRequestQueue();
