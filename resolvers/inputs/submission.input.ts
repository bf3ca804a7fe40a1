import { Field, Float, InputType, Int } from 'type-graphql';
import { InvalidLigandPolicy, ModelName, MsaFormat, StructureFormat } from '../types/enums.js';

/**
 * Inputs are declared loosely on purpose (lists of any length, strings of any size): the
 * domain validation checks them all at once and names every problem, which GraphQL's own
 * coercion could not do.
 */
@InputType('StructureInput')
export class StructureInput {
  @Field((_type) => StructureFormat) format!: StructureFormat;
  @Field((_type) => String, { description: 'PDB, PDBQT, mmCIF or SDF text.' }) content!: string;
}

@InputType('PocketInput', { description: 'A docking box: center x, y, z and size x, y, z in Å (each side > 0 and ≤ 30).' })
export class PocketInput {
  @Field((_type) => [Float]) center!: number[];
  @Field((_type) => [Float]) size!: number[];
}

@InputType('MsaInput', { description: "The protein's multiple sequence alignment, computed elsewhere (BOLTZ2)." })
export class MsaInput {
  @Field((_type) => MsaFormat) format!: MsaFormat;
  @Field((_type) => String, { description: "The file's text; its first sequence is the protein's own." }) content!: string;
}

@InputType('ProteinInput')
export class ProteinInput {
  @Field((_type) => String, { nullable: true }) name?: string | null;
  @Field((_type) => String, { nullable: true, description: 'One-letter amino acids (BOLTZ2 needs it).' }) sequence?:
    string | null;
  @Field((_type) => StructureInput, { nullable: true, description: 'Receptor structure (VINA needs PDB or PDBQT).' })
  structure?: StructureInput | null;
  @Field((_type) => PocketInput, { nullable: true, description: 'Docking box (VINA needs it).' }) pocket?: PocketInput | null;
  @Field((_type) => MsaInput, {
    nullable: true,
    description: 'BOLTZ2: use this MSA instead of the MSA server; stored once for the whole batch.',
  })
  msa?: MsaInput | null;
}

@InputType('LigandInput')
export class LigandInput {
  @Field((_type) => String) smiles!: string;
  @Field((_type) => String, { nullable: true }) name?: string | null;
  @Field((_type) => StructureInput, { nullable: true, description: 'A prepared 3D ligand (PDBQT or SDF), VINA only.' })
  structure?: StructureInput | null;
}

@InputType('PredictionParameters', { description: 'Each model reads its own; unset means the runner default.' })
export class PredictionParameters {
  @Field((_type) => Int, { nullable: true }) seed?: number | null;
  @Field((_type) => Int, { nullable: true }) diffusionSamples?: number | null;
  @Field((_type) => Int, { nullable: true }) samplingSteps?: number | null;
  @Field((_type) => Int, { nullable: true }) recyclingSteps?: number | null;
  @Field((_type) => Boolean, {
    nullable: true,
    description:
      'BOLTZ2: true or unset: the MSA comes from the MSA server, once per batch (unless ProteinInput.msa is given); ' +
      'false: single-sequence mode (no MSA, less accurate).',
  })
  useMsaServer?: boolean | null;
  @Field((_type) => Int, { nullable: true }) exhaustiveness?: number | null;
  @Field((_type) => Int, { nullable: true }) numPoses?: number | null;
}

@InputType('SubmitPredictionInput')
export class SubmitPredictionInput {
  @Field((_type) => ModelName) model!: ModelName;
  @Field((_type) => ProteinInput) protein!: ProteinInput;
  @Field((_type) => LigandInput) ligand!: LigandInput;
  @Field((_type) => PredictionParameters, { nullable: true }) parameters?: PredictionParameters | null;
  @Field((_type) => String, { nullable: true }) name?: string | null;
  @Field((_type) => String, { nullable: true, description: 'The same key from the same user returns the first submission.' })
  idempotencyKey?: string | null;
  @Field((_type) => Boolean, {
    defaultValue: false,
    description: 'Members of your organization may read it (not cancel or retry it). Needs a viewer with an organization.',
  })
  shareWithOrganization!: boolean;
}

@InputType('SubmitBatchInput')
export class SubmitBatchInput {
  @Field((_type) => ModelName) model!: ModelName;
  @Field((_type) => String) name!: string;
  @Field((_type) => ProteinInput) protein!: ProteinInput;
  @Field((_type) => [LigandInput]) ligands!: LigandInput[];
  @Field((_type) => PredictionParameters, { nullable: true }) parameters?: PredictionParameters | null;
  @Field((_type) => Int, { nullable: true, description: 'At most this many children run at once.' }) maxConcurrent?:
    number | null;
  @Field((_type) => InvalidLigandPolicy, { defaultValue: InvalidLigandPolicy.REJECT }) onInvalidLigand!: InvalidLigandPolicy;
  @Field((_type) => String, { nullable: true }) idempotencyKey?: string | null;
  @Field((_type) => Boolean, {
    defaultValue: false,
    description: 'Members of your organization may read it (not cancel or retry it). Needs a viewer with an organization.',
  })
  shareWithOrganization!: boolean;
  @Field((_type) => String, {
    nullable: true,
    description:
      'An http(s) URL that gets one signed POST when the batch ends (viewer.webhookSigningSecret verifies it). ' +
      'Private, loopback and link-local addresses are refused.',
  })
  webhookUrl?: string | null;
}
