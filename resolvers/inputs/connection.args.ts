import { ArgsType, Field, Int } from 'type-graphql';
import { InvalidInputError, type InvalidField } from '../../src/domain/errors.js';
import { MAX_PAGE_SIZE } from '../../src/ports/page.js';

@ArgsType()
export class ConnectionArgs {
  @Field((_type) => Int, { nullable: true, description: `At most ${MAX_PAGE_SIZE}.` }) first?: number | null;
  @Field((_type) => String, { nullable: true }) after?: string | null;
  @Field((_type) => Int, { nullable: true, description: `At most ${MAX_PAGE_SIZE}.` }) last?: number | null;
  @Field((_type) => String, { nullable: true }) before?: string | null;
}

/**
 * Relay's rules plus ours: sizes 0…100, and one direction per request (`first`/`after` or
 * `last`/`before`), since mixing them has no useful meaning for keyset pages.
 */
export function checkConnectionArgs(args: ConnectionArgs): void {
  const invalid: InvalidField[] = [];
  for (const key of ['first', 'last'] as const) {
    const size = args[key];
    if (size != null && (size < 0 || size > MAX_PAGE_SIZE)) {
      invalid.push({ path: [key], message: `must be between 0 and ${MAX_PAGE_SIZE}, got ${size}` });
    }
  }
  const forward = args.first != null || args.after != null;
  const backward = args.last != null || args.before != null;
  if (forward && backward) {
    invalid.push({ path: ['last'], message: 'page either forward (first, after) or backward (last, before), not both' });
  }
  if (invalid.length > 0) throw new InvalidInputError(invalid);
}
