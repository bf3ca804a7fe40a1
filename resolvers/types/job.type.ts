import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Node } from './node.type.js';
import { JobKind, JobStatus, ModelName } from './enums.js';
import { LigandType, ParametersType } from './chemistry.type.js';
import { AffinityType, ConfidenceType, JobErrorType, PoseType } from './result.type.js';

@ObjectType('Result', { simpleResolvers: true })
export class ResultType {
  @Field((_type) => AffinityType, { nullable: true }) affinity!: AffinityType | null;
  @Field((_type) => ConfidenceType, { nullable: true }) confidence!: ConfidenceType | null;
  @Field((_type) => [PoseType]) poses!: PoseType[];
}

/** Fields resolved from the domain Job as it is; `batch`, `protein`, `runtimeSeconds`, `usage` are resolved in job.resolver.ts. */
@ObjectType('Job', { simpleResolvers: true, implements: Node })
export class JobType extends Node {
  @Field((_type) => ID) declare id: string;
  @Field((_type) => JobKind) kind!: JobKind;
  @Field((_type) => ModelName) model!: ModelName;
  @Field((_type) => String, { nullable: true }) name!: string | null;
  @Field((_type) => JobStatus) status!: JobStatus;
  @Field((_type) => LigandType) ligand!: LigandType;
  @Field((_type) => ParametersType) parameters!: ParametersType;
  @Field((_type) => Int, { nullable: true, description: "The ligand's position in its batch's input." })
  batchIndex!: number | null;
  @Field((_type) => ResultType, { nullable: true }) result!: ResultType | null;
  @Field((_type) => JobErrorType, { nullable: true }) error!: JobErrorType | null;
  @Field((_type) => Int, { description: 'Attempts started so far.' }) attempts!: number;
  @Field((_type) => Date) createdAt!: Date;
  @Field((_type) => Date, { nullable: true }) startedAt!: Date | null;
  @Field((_type) => Date, { nullable: true }) completedAt!: Date | null;
  @Field((_type) => Float, { nullable: true, description: 'From start to end of the last attempt.' })
  runtimeSeconds?: number | null;
}
