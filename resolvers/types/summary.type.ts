import { Field, Float, Int, ObjectType } from 'type-graphql';
import { AffinityUnit } from './enums.js';
import { BatchProgressType } from './batch.type.js';

@ObjectType('BatchSummary', { simpleResolvers: true, description: 'Lower affinity binds tighter for both units.' })
export class BatchSummaryType {
  @Field((_type) => Float, { nullable: true }) bestAffinity!: number | null;
  @Field((_type) => Float, { nullable: true }) meanAffinity!: number | null;
  @Field((_type) => AffinityUnit, { nullable: true }) unit!: AffinityUnit | null;
  @Field((_type) => Int, { description: 'Children with an affinity.' }) scored!: number;
  @Field((_type) => BatchProgressType, { description: 'Children by status.' }) counts!: BatchProgressType;
  /** Resolved in batch.resolver.ts: `top(n)` and `counts`. */
  batchId!: string;
}
