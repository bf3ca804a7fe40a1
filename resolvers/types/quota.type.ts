import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';

export enum QuotaScope {
  USER = 'USER',
  ORGANIZATION = 'ORGANIZATION',
}
registerEnumType(QuotaScope, {
  name: 'QuotaScope',
  description: "Whose usage a quota counts: the viewer's, or their organization's.",
});

@ObjectType('Quota', {
  simpleResolvers: true,
  description: 'A limit on submissions and how much of it is used. A submission over it is refused with QUOTA_EXCEEDED.',
})
export class QuotaType {
  @Field((_type) => String, {
    description:
      'concurrentJobs (jobs not yet finished), predictionsPerDay (jobs submitted since 00:00 UTC), batchSize (ligands in one batch), ' +
      'gpuSecondsPerMonth (GPU-seconds of jobs submitted this UTC month); extensions.quota of QUOTA_EXCEEDED names it ' +
      '(prefixed "organization." for an organization quota).',
  })
  name!: string;
  @Field((_type) => QuotaScope) scope!: QuotaScope;
  @Field((_type) => Float, { nullable: true, description: 'Null: unlimited.' }) limit!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Null for batchSize, a limit on each submission.' })
  used!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'limit − used, at least 0; null when unlimited or for batchSize.' })
  remaining!: number | null;
  @Field((_type) => Date, {
    nullable: true,
    description: 'When used starts again from 0; null for concurrentJobs and batchSize.',
  })
  resetsAt!: Date | null;
}
