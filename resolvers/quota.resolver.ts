import { Ctx, FieldResolver, Resolver } from 'type-graphql';
import type { Context } from './context.js';
import { ViewerType } from './types/model.type.js';
import { QuotaScope, QuotaType } from './types/quota.type.js';
import { quotaStatuses } from '../src/services/quotas.js';

@Resolver((_of) => ViewerType)
export class ViewerQuotaResolver {
  @FieldResolver((_returns) => [QuotaType], {
    description: "Your quotas, then your organization's (when you have one), with exact usage; unset limits are null.",
  })
  async quotas(@Ctx() ctx: Context): Promise<QuotaType[]> {
    const statuses = await quotaStatuses(
      ctx.app.jobs,
      ctx.app.config.quotas,
      { owner: ctx.viewer.id, organizationId: ctx.viewer.organizationId },
      ctx.app.clock(),
    );
    return statuses.map((s) => ({ ...s, scope: s.scope === 'USER' ? QuotaScope.USER : QuotaScope.ORGANIZATION }));
  }
}
