import { Field, Float, Int, ObjectType } from 'type-graphql';
import { AffinityUnit } from './enums.js';

@ObjectType('AffinityHead', { simpleResolvers: true, description: "One of Boltz-2's two affinity heads." })
export class AffinityHeadType {
  @Field((_type) => Float, { description: 'log10 IC50 in µM.' }) value!: number;
  @Field((_type) => Float, { nullable: true }) probabilityBinder!: number | null;
}

@ObjectType('Affinity', { simpleResolvers: true })
export class AffinityType {
  @Field((_type) => Float) value!: number;
  @Field((_type) => AffinityUnit) unit!: AffinityUnit;
  @Field((_type) => Float, {
    nullable: true,
    description: 'Boltz-2: ΔG ≈ −1.364 × (6 − value), from the IC50 as a stand-in for Kd at 298 K.',
  })
  kcalPerMol!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Boltz-2: probability that the ligand binds.' })
  probabilityBinder!: number | null;
  // `heads` is resolved in result.resolver.ts: results stored before it existed have none.
}

@ObjectType('Confidence', { simpleResolvers: true, description: "Boltz-2's confidence in the predicted complex." })
export class ConfidenceType {
  @Field((_type) => Float, {
    description: 'Boltz-2 confidence_score: (4 × complex pLDDT + ipTM) / 5, pTM in place of ipTM for a lone chain (0–1).',
  })
  score!: number;
  @Field((_type) => Float, { nullable: true }) ptm!: number | null;
  @Field((_type) => Float, { nullable: true }) iptm!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Complex pLDDT (0–1).' }) plddt!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'ipTM of the interfaces with the ligand.' }) ligandIptm!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'ipTM between protein chains (0 with one chain).' })
  proteinIptm!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Interface pLDDT (0–1).' }) complexIplddt!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Predicted distance error over the complex, Å.' })
  complexPde!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'Predicted distance error over the interfaces, Å.' })
  complexIpde!: number | null;
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
