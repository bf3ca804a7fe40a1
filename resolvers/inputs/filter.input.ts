import { Field, ID, InputType } from 'type-graphql';
import { BatchJobOrderField, BatchStatus, JobKind, JobStatus, ModelName, OrderDirection } from '../types/enums.js';

@InputType('JobFilter', { description: 'Without `kind` or `batchId`, `jobs` lists your individual jobs.' })
export class JobFilter {
  @Field((_type) => JobKind, { nullable: true }) kind?: JobKind | null;
  @Field((_type) => ID, { nullable: true }) batchId?: string | null;
  @Field((_type) => JobStatus, { nullable: true }) status?: JobStatus | null;
  @Field((_type) => ModelName, { nullable: true }) model?: ModelName | null;
}

@InputType('BatchFilter')
export class BatchFilter {
  @Field((_type) => BatchStatus, { nullable: true }) status?: BatchStatus | null;
  @Field((_type) => ModelName, { nullable: true }) model?: ModelName | null;
}

@InputType('BatchJobFilter')
export class BatchJobFilter {
  @Field((_type) => JobStatus, { nullable: true }) status?: JobStatus | null;
}

@InputType('BatchJobOrder', { description: 'Jobs without the ordered value (not finished, failed) come last, by index.' })
export class BatchJobOrder {
  @Field((_type) => BatchJobOrderField) field!: BatchJobOrderField;
  @Field((_type) => OrderDirection, { defaultValue: OrderDirection.ASC }) direction!: OrderDirection;
}
