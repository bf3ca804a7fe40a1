/** What a delivery needs to know about its task to build the Cloud Tasks headers. */
export interface DeliveryFacts {
  queueId: string;
  taskName: string;
  /** Attempts made before this one. */
  retryCount: number;
  /** Previous attempts answered with a non-5xx status. */
  executionCount: number;
  scheduleAtMs: number;
  previousStatus: number | null;
}

/**
 * The request headers Cloud Tasks sends to an HTTP target, so the worker cannot tell the
 * embedded queue from the managed one. QueueName and TaskName are the short ids, not the
 * full resource names; the ETA is seconds since the epoch with microseconds.
 */
export function cloudTasksHeaders(facts: DeliveryFacts): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'Google-Cloud-Tasks',
    'X-CloudTasks-QueueName': facts.queueId,
    'X-CloudTasks-TaskName': facts.taskName,
    'X-CloudTasks-TaskRetryCount': String(facts.retryCount),
    'X-CloudTasks-TaskExecutionCount': String(facts.executionCount),
    'X-CloudTasks-TaskETA': (facts.scheduleAtMs / 1000).toFixed(6),
  };
  if (facts.previousStatus !== null) headers['X-CloudTasks-TaskPreviousResponse'] = String(facts.previousStatus);
  return headers;
}

/** `projects/p/locations/l/queues/q` → `q`; a bare id is returned as is. */
export function queueIdOf(queueName: string): string {
  return queueName.slice(queueName.lastIndexOf('/') + 1);
}
