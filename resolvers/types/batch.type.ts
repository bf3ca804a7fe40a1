import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Node } from './node.type.js';
import { BatchStatus, ModelName } from './enums.js';
import { ParametersType, ProteinType } from './chemistry.type.js';

@ObjectType('BatchProgress', { simpleResolvers: true })
export class BatchProgressType {
  @Field((_type) => Int) total!: number;
  @Field((_type) => Int) pending!: number;
  @Field((_type) => Int) queued!: number;
  @Field((_type) => Int) running!: number;
  @Field((_type) => Int) completed!: number;
  @Field((_type) => Int) failed!: number;
  @Field((_type) => Int) cancelled!: number;
  @Field((_type) => Float, { description: 'Ended children (completed, failed, cancelled) over total, 0–100.' })
  percent!: number;
  @Field((_type) => Float, {
    nullable: true,
    description: 'From the rate of ended children since the batch started; null until one ends.',
  })
  etaSeconds!: number | null;
}

@ObjectType('Batch', { simpleResolvers: true, implements: Node })
export class BatchType extends Node {
  @Field((_type) => ID) declare id: string;
  @Field((_type) => String) name!: string;
  @Field((_type) => ModelName) model!: ModelName;
  @Field((_type) => BatchStatus) status!: BatchStatus;
  @Field((_type) => ProteinType) protein!: ProteinType;
  @Field((_type) => ParametersType) parameters!: ParametersType;
  @Field((_type) => Int, { nullable: true }) maxConcurrent!: number | null;
  @Field((_type) => Date) createdAt!: Date;
  @Field((_type) => Date, { nullable: true }) startedAt!: Date | null;
  @Field((_type) => Date, { nullable: true }) completedAt!: Date | null;
}
