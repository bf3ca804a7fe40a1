import { defaultFieldResolver, OperationTypeNode, type GraphQLSchema } from 'graphql';
import type { Context } from '../../../resolvers/context.js';

/**
 * Puts every top-level query and mutation field behind the viewer's rate limit for that
 * field (`Limits.checkField`), over HTTP and WebSocket alike, without schema directives. A
 * refused field answers RATE_LIMITED and its resolver does not run (a refused submission
 * writes nothing). Subscriptions are paid for by their cost, once at subscribe.
 */
export function rateLimitRootFields(schema: GraphQLSchema): GraphQLSchema {
  for (const operation of ['query', 'mutation'] as const) {
    const type = schema.getRootType(operation === 'query' ? OperationTypeNode.QUERY : OperationTypeNode.MUTATION);
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = async (source, args: Record<string, unknown>, context: Context, info) => {
        await context.app.limits.checkField(context.viewer.id, operation, info, args);
        return resolve(source, args, context, info);
      };
    }
  }
  return schema;
}
