import { DomainError } from '../../../domain/errors.js';
import { MAX_TASK_BODY_BYTES, type TaskRequest } from '../../../ports/task-queue.js';

/** Cloud Tasks task ids: letters, digits, hyphens and underscores, at most 500 of them. */
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;

/** A task the queue refuses before storing anything (Cloud Tasks answers INVALID_ARGUMENT). */
export class InvalidTaskError extends DomainError {
  readonly code = 'TASK.INVALID';
  constructor(
    readonly taskName: string,
    reason: string,
  ) {
    super(`task ${JSON.stringify(taskName.slice(0, 80))} rejected: ${reason}`);
  }
}

/** Checks one task and returns its JSON body, so the body is serialised once. */
export function taskBody(task: TaskRequest): string {
  if (!TASK_ID.test(task.name)) {
    throw new InvalidTaskError(task.name, 'a task name is 1–500 of [A-Za-z0-9_-], like a Cloud Tasks task id');
  }
  if (task.scheduleAt !== undefined && Number.isNaN(task.scheduleAt.getTime())) {
    throw new InvalidTaskError(task.name, 'scheduleAt is an invalid Date');
  }
  const body = JSON.stringify(task.payload);
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_TASK_BODY_BYTES) {
    throw new InvalidTaskError(
      task.name,
      `body is ${bytes} bytes, over the 100 KB (${MAX_TASK_BODY_BYTES} bytes) Cloud Tasks limit; send job ids, not inputs`,
    );
  }
  return body;
}
