/**
 * Domain errors carry a string code that survives process hops (worker → store → api);
 * `resolvers/errors.ts` is the one place that maps them to GraphQL error codes.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

/** One problem with a submission: where (`["input","ligands",17,"smiles"]`) and what. */
export interface InvalidField {
  path: (string | number)[];
  message: string;
}

export class InvalidInputError extends DomainError {
  readonly code = 'INPUT.INVALID';
  constructor(readonly invalid: InvalidField[]) {
    super(
      invalid.length === 1
        ? `invalid input: ${invalid[0]!.path.join('.')}: ${invalid[0]!.message}`
        : `invalid input: ${invalid.length} problems, see extensions.invalid`,
    );
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: 'Job' | 'Batch' | 'Node' | 'Artifact' | 'ApiKey',
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
  }
}

export class InvalidTransitionError extends DomainError {
  readonly code = 'JOB.INVALID_TRANSITION';
  constructor(
    readonly jobId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`job ${jobId} cannot go from ${from} to ${to}`);
  }
}

/** A state rule of a mutation (cancel a finished job, retry a batch with nothing failed). */
export class ConflictError extends DomainError {
  readonly code = 'STATE.CONFLICT';
}

/** A paging cursor that this list did not issue. */
export class InvalidCursorError extends DomainError {
  readonly code = 'INPUT.CURSOR';
  constructor(
    readonly argument: 'after' | 'before',
    readonly cursor: string,
    readonly reason: string,
  ) {
    super(`cursor ${JSON.stringify(cursor.slice(0, 40))} is not valid here: ${reason}`);
  }
}

/** A request without valid credentials (none where they are required, forged, expired, revoked). */
export class UnauthenticatedError extends DomainError {
  readonly code = 'AUTH.UNAUTHENTICATED';
}

/** Valid credentials that may not do this (e.g. a read-only key submitting). */
export class ForbiddenError extends DomainError {
  readonly code = 'AUTH.FORBIDDEN';
}

/** Too many requests for one field in a window; try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  readonly code = 'LIMIT.RATE';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A submission that would take the viewer (or their organization) over a quota; nothing was written. */
export class QuotaExceededError extends DomainError {
  readonly code = 'LIMIT.QUOTA';
  constructor(
    message: string,
    readonly quota: string,
    readonly limit: number,
    readonly used: number,
  ) {
    super(message);
  }
}
