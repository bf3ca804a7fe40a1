import { Field, Int, ObjectType } from 'type-graphql';
import { JobType } from './job.type.js';
import { BatchType } from './batch.type.js';

@ObjectType('InvalidField', { simpleResolvers: true, description: 'One problem with an input: where it is and what is wrong.' })
export class InvalidFieldType {
  @Field((_type) => [String], { description: 'From the argument down, e.g. ["input","ligands","17","smiles"].' })
  path!: string[];
  @Field((_type) => String) message!: string;
}

@ObjectType('SkippedLigand', { simpleResolvers: true })
export class SkippedLigandType {
  @Field((_type) => Int, { description: "The ligand's position in the input list." }) index!: number;
  @Field((_type) => String, { nullable: true }) name!: string | null;
  @Field((_type) => String) smiles!: string;
  @Field((_type) => [InvalidFieldType]) problems!: InvalidFieldType[];
}

@ObjectType('SubmitPredictionPayload', { simpleResolvers: true })
export class SubmitPredictionPayload {
  @Field((_type) => JobType) job!: JobType;
}

@ObjectType('SubmitBatchPayload', { simpleResolvers: true })
export class SubmitBatchPayload {
  @Field((_type) => BatchType) batch!: BatchType;
  @Field((_type) => [SkippedLigandType], { description: 'Ligands left out under onInvalidLigand: SKIP.' })
  skipped!: SkippedLigandType[];
}
