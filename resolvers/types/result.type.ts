import { Field, Float, Int, ObjectType } from 'type-graphql';
import { AffinityUnit } from './enums.js';

@ObjectType('Affinity', { simpleResolvers: true })
export class AffinityType {
  @Field((_type) => Float) value!: number;
  @Field((_type) => AffinityUnit) unit!: AffinityUnit;
  @Field((_type) => Float, { nullable: true }) kcalPerMol!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Boltz-2: probability that the ligand binds.' })
  probabilityBinder!: number | null;
}

@ObjectType('Confidence', { simpleResolvers: true })
export class ConfidenceType {
  @Field((_type) => Float) score!: number;
  @Field((_type) => Float, { nullable: true }) ptm!: number | null;
  @Field((_type) => Float, { nullable: true }) iptm!: number | null;
  @Field((_type) => Float, { nullable: true }) plddt!: number | null;
}

@ObjectType('Pose', { simpleResolvers: true })
export class PoseType {
  @Field((_type) => Int) rank!: number;
  @Field((_type) => Float) score!: number;
  @Field((_type) => Float, { nullable: true }) rmsdLowerBound!: number | null;
  @Field((_type) => Float, { nullable: true }) rmsdUpperBound!: number | null;
}

@ObjectType('Artifact', { simpleResolvers: true, description: 'A downloadable file; `url` expires.' })
export class ArtifactType {
  @Field((_type) => String) name!: string;
  @Field((_type) => String) contentType!: string;
  @Field((_type) => Int) sizeBytes!: number;
  @Field((_type) => String) url!: string;
}

@ObjectType('JobError', { simpleResolvers: true })
export class JobErrorType {
  @Field((_type) => String) code!: string;
  @Field((_type) => String) message!: string;
  @Field((_type) => Boolean, { description: 'Whether running it again may succeed.' }) retryable!: boolean;
}
