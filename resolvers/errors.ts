import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  DomainError,
  ForbiddenError,
  InvalidCursorError,
  InvalidInputError,
  NotFoundError,
  QuotaExceededError,
  RateLimitedError,
  UnauthenticatedError,
} from '../src/domain/errors.js';

/** The error codes clients rely on (DESIGN.md), plus CONFLICT for a mutation's state rules. */
export type ErrorCode =
  'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'INTERNAL';

/** Codes Apollo and graphql-js give to client mistakes; they pass through unchanged. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/**
 * The one place where domain errors become GraphQL errors. Anything unexpected becomes
 * INTERNAL with no internals in the message; `onInternal` logs the original.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  onInternal: (error: unknown) => void,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const domain = toClientError(original);
  if (domain) return { ...formatted, message: domain.message, extensions: domain.extensions };
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && CLIENT_CODES.has(code)) return formatted;
  // graphql-js's own errors (a bad literal, a null for a non-null variable) are about the request.
  if (original instanceof GraphQLError && original.originalError === undefined) {
    return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
  }
  onInternal(original);
  return { message: 'Internal error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL' } };
}

function toClientError(error: unknown): { message: string; extensions: Record<string, unknown> } | null {
  if (error instanceof InvalidInputError) {
    return { message: error.message, extensions: { code: 'BAD_USER_INPUT', invalid: error.invalid } };
  }
  if (error instanceof InvalidCursorError) {
    return {
      message: error.message,
      extensions: { code: 'BAD_USER_INPUT', invalid: [{ path: [error.argument], message: error.message }] },
    };
  }
  if (error instanceof NotFoundError) return { message: error.message, extensions: { code: 'NOT_FOUND' } };
  if (error instanceof UnauthenticatedError) return { message: error.message, extensions: { code: 'UNAUTHENTICATED' } };
  if (error instanceof ForbiddenError) return { message: error.message, extensions: { code: 'FORBIDDEN' } };
  if (error instanceof RateLimitedError) {
    return { message: error.message, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: error.retryAfterSeconds } };
  }
  if (error instanceof QuotaExceededError) {
    return {
      message: error.message,
      extensions: { code: 'QUOTA_EXCEEDED', quota: error.quota, limit: error.limit, used: error.used },
    };
  }
  if (error instanceof DomainError) return { message: error.message, extensions: { code: 'CONFLICT', reason: error.code } };
  return null;
}
