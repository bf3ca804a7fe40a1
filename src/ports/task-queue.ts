/**
 * Hands work to the worker with Cloud Tasks semantics: named tasks are de-duplicated,
 * delivery is at least once by HTTP POST, a 2xx ends a task and anything else retries it
 * with exponential backoff until the attempt limit.
 */
/** Cloud Tasks refuses task bodies over 100 KB: tasks carry ids, never inputs. */
export const MAX_TASK_BODY_BYTES = 100 * 1024;

export interface TaskPayload {
  /** Ids only, never inputs: the worker reads the jobs from the JobStore. */
  jobIds: string[];
  batchId: string | null;
}

export interface TaskRequest {
  /** De-duplication key: a second task with the same name is dropped. */
  name: string;
  payload: TaskPayload;
  /** Not delivered before this time. */
  scheduleAt?: Date;
}

export interface EnqueueOutcome {
  name: string;
  status: 'CREATED' | 'DUPLICATE';
}

export interface TaskQueue {
  enqueue(tasks: TaskRequest[]): Promise<EnqueueOutcome[]>;
  /** Tasks waiting or in flight, for /metrics. */
  depth(): Promise<number>;
  close(): Promise<void>;
}
