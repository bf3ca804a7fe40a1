import { Field, Float, Int, ObjectType } from 'type-graphql';
import { StructureFormat } from './enums.js';

@ObjectType('Structure', { simpleResolvers: true })
export class StructureType {
  @Field((_type) => StructureFormat)
  format!: StructureFormat;

  @Field((_type) => String)
  content!: string;
}

@ObjectType('Pocket', { simpleResolvers: true, description: 'A docking box in Å.' })
export class PocketType {
  @Field((_type) => [Float])
  center!: number[];

  @Field((_type) => [Float])
  size!: number[];
}

@ObjectType('Protein', { simpleResolvers: true })
export class ProteinType {
  @Field((_type) => String, { nullable: true })
  name!: string | null;

  @Field((_type) => String, { nullable: true })
  sequence!: string | null;

  @Field((_type) => StructureType, { nullable: true })
  structure!: StructureType | null;

  @Field((_type) => PocketType, { nullable: true })
  pocket!: PocketType | null;
}

@ObjectType('Ligand', { simpleResolvers: true })
export class LigandType {
  @Field((_type) => String, { nullable: true })
  name!: string | null;

  @Field((_type) => String, { description: 'As submitted.' })
  smiles!: string;

  @Field((_type) => String, { description: "RDKit's canonical SMILES." })
  canonicalSmiles!: string;

  @Field((_type) => Int)
  heavyAtoms!: number;

  @Field((_type) => Int)
  rotatableBonds!: number;

  @Field((_type) => StructureType, { nullable: true, description: 'A prepared 3D ligand, when one was given.' })
  structure!: StructureType | null;
}

@ObjectType('Parameters', { simpleResolvers: true, description: 'As submitted; null means the runner default.' })
export class ParametersType {
  @Field((_type) => Int, { nullable: true }) seed!: number | null;
  @Field((_type) => Int, { nullable: true }) diffusionSamples!: number | null;
  @Field((_type) => Int, { nullable: true }) samplingSteps!: number | null;
  @Field((_type) => Int, { nullable: true }) recyclingSteps!: number | null;
  @Field((_type) => Boolean, { nullable: true }) useMsaServer!: boolean | null;
  @Field((_type) => Int, { nullable: true }) exhaustiveness!: number | null;
  @Field((_type) => Int, { nullable: true }) numPoses!: number | null;
}
