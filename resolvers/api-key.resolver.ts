import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, ID, Mutation, Resolver } from 'type-graphql';
import type { ApiKeyRecord } from '../src/ports/api-key-store.js';
import type { Viewer } from '../src/server/request-context.js';
import type { Context } from './context.js';
import { ForbiddenError } from '../src/domain/errors.js';
import { ApiKeyType, CreateApiKeyPayload } from './types/api-key.type.js';
import { ViewerType } from './types/model.type.js';

@ArgsType()
class ApiKeysArgs {
  @Field((_type) => Boolean, { defaultValue: false }) includeRevoked!: boolean;
}

function actorOf(viewer: Viewer) {
  return { id: viewer.id, credential: viewer.credential, apiKeyId: viewer.apiKeyId };
}

/** API keys of the viewer: created (the secret once), listed, revoked. */
@Resolver()
export class ApiKeyResolver {
  @Mutation((_returns) => CreateApiKeyPayload, {
    // The key keeps the organization it is created with, whatever the user's becomes later.
    description: 'A new API key acting as you (and your organization). The secret is in this answer only.',
  })
  async createApiKey(@Arg('name', (_type) => String) name: string, @Ctx() ctx: Context): Promise<CreateApiKeyPayload> {
    const { viewer } = ctx;
    // A stolen key must not mint keys that survive its revocation.
    if (viewer.credential === 'apiKey') {
      throw new ForbiddenError(
        'an API key cannot create API keys: authenticate with a JWT session, or run `omtx keys create` on the server',
      );
    }
    const { key, secret } = await ctx.app.apiKeys.create(
      actorOf(viewer),
      { userId: viewer.id, organizationId: viewer.organizationId },
      name,
    );
    return { apiKey: key, secret };
  }

  @Mutation((_returns) => ApiKeyType, {
    description: 'Revokes one of your keys for good: requests with it get 401 and its open sockets close with 4401.',
  })
  async revokeApiKey(@Arg('id', (_type) => ID) id: string, @Ctx() ctx: Context): Promise<ApiKeyRecord> {
    return ctx.app.apiKeys.revoke(actorOf(ctx.viewer), ctx.viewer.id, id);
  }
}

/** The viewer's identity and keys, beside the fields other parts add to `Viewer`. */
@Resolver((_of) => ViewerType)
export class ViewerAuthResolver {
  @FieldResolver((_returns) => ID, {
    nullable: true,
    description: 'Your organization: records shared with it are readable by you.',
  })
  organizationId(@Ctx() ctx: Context): string | null {
    return ctx.viewer.organizationId;
  }

  @FieldResolver((_returns) => String, { description: 'How this request authenticated: `local`, `apiKey` or `jwt`.' })
  credential(@Ctx() ctx: Context): string {
    return ctx.viewer.credential;
  }

  @FieldResolver((_returns) => [ApiKeyType], { description: 'Your API keys, newest first, without their secrets.' })
  async apiKeys(@Args((_type) => ApiKeysArgs) args: ApiKeysArgs, @Ctx() ctx: Context): Promise<ApiKeyRecord[]> {
    return ctx.app.apiKeys.list(ctx.viewer.id, args.includeRevoked);
  }
}
