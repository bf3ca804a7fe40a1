import { Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from './context.js';
import { ModelType, ViewerType } from './types/model.type.js';

@Resolver()
export class ModelResolver {
  @Query((_returns) => [ModelType], { description: 'The models this deployment knows, and whether it can run them now.' })
  async models(@Ctx() ctx: Context) {
    return ctx.app.models.list();
  }

  @Query((_returns) => ViewerType)
  viewer(@Ctx() ctx: Context) {
    return ctx.viewer;
  }
}
