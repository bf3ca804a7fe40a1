/**
 * Tells listeners that a committed write touched a job or a batch. It carries ids, not
 * state: a listener reads the state it needs, so a burst of changes costs one read.
 */
export type Unsubscribe = () => void;

export interface ChangeFeed {
  /** Called after each commit that changed the job. */
  watchJob(jobId: string, onChange: () => void): Unsubscribe;
  /** Called after each commit that changed the batch or any of its children, with their ids. */
  watchBatch(batchId: string, onChange: (changedJobIds: string[]) => void): Unsubscribe;
  /** Hands every change committed before the call to the listeners before resolving. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
