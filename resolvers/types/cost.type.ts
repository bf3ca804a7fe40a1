import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import type { Usage } from '../../src/domain/job.js';
import { ModelName } from './enums.js';
import { PredictionParameters } from '../inputs/submission.input.js';

@ObjectType('Usage', {
  simpleResolvers: true,
  description:
    'What worker instances were billed: for a job, every attempt summed (a failed or interrupted attempt was billed too); ' +
    'for a batch, its children summed.',
})
export class UsageType {
  @Field((_type) => Float, { description: 'Wall-clock seconds a worker instance was held, model load and uploads included.' })
  runtimeSeconds!: number;
  @Field((_type) => Float, { description: 'GPU-seconds held while a GPU model ran; 0 for a CPU model.' })
  gpuSeconds!: number;
  @Field((_type) => Float, { description: "The instance's price for that time (GPU, vCPUs, memory), USD." })
  costUsd!: number;
}

/** The stored whole units (ms, nano-dollars) as the API's seconds and dollars. */
export function toUsageType(usage: Usage): UsageType {
  return { runtimeSeconds: usage.runtimeMs / 1000, gpuSeconds: usage.gpuMs / 1000, costUsd: usage.costNanoUsd / 1e9 };
}

/** The input of `estimateBatchCost`. */
@InputType('EstimateBatchCostInput', {
  description: 'A screen to price: a ligand count, not the ligands, so a script can price it before it has the file.',
})
export class EstimateBatchCostInput {
  @Field((_type) => ModelName) model!: ModelName;
  @Field((_type) => Int, { description: 'Ligands in the screen, 1–100,000.' }) ligandCount!: number;
  @Field((_type) => Int, {
    nullable: true,
    description: "BOLTZ2: residues of the protein (Boltz's time grows with its square); unset means 300, a kinase domain.",
  })
  proteinLength?: number | null;
  @Field((_type) => PredictionParameters, { nullable: true }) parameters?: PredictionParameters | null;
}

@ObjectType('InstanceShape', {
  simpleResolvers: true,
  description: 'One worker instance, billed whole for every second it runs.',
})
export class InstanceShapeType {
  @Field((_type) => Int) gpus!: number;
  @Field((_type) => Float) vcpus!: number;
  @Field((_type) => Float) memoryGib!: number;
}

@ObjectType('Prices', { simpleResolvers: true, description: 'USD per second of one GPU, one vCPU, one GiB.' })
export class PricesType {
  @Field((_type) => Float) gpuPerSecond!: number;
  @Field((_type) => Float) vcpuPerSecond!: number;
  @Field((_type) => Float) gibPerSecond!: number;
}

@ObjectType('CostAssumptions', {
  simpleResolvers: true,
  description: 'What the estimate rests on (bench/RESULTS.md has the sources).',
})
export class CostAssumptionsType {
  @Field((_type) => InstanceShapeType) instance!: InstanceShapeType;
  @Field((_type) => PricesType) prices!: PricesType;
  @Field((_type) => Float) instancePricePerSecondUsd!: number;
  @Field((_type) => Float, { description: 'Seconds the model computes for one ligand with these parameters.' })
  secondsPerLigand!: number;
  @Field((_type) => Float, { description: 'Once per shard (0 for VINA).' }) modelLoadSeconds!: number;
  @Field((_type) => Int, { nullable: true, description: 'BOLTZ2: the protein length used.' }) proteinLength!: number | null;
  @Field((_type) => Float, { nullable: true, description: 'BOLTZ2: the shard time limit the shard size fits in.' })
  shardTimeLimitSeconds!: number | null;
}

@ObjectType('CostEstimate', { simpleResolvers: true, description: "A screen's modelled worker time and cost." })
export class CostEstimateType {
  @Field((_type) => ModelName) model!: ModelName;
  @Field((_type) => Int) ligands!: number;
  @Field((_type) => Int, { description: 'Ligands per task; the model loads once per shard.' }) shardSize!: number;
  @Field((_type) => Int) shards!: number;
  @Field((_type) => Float, { description: 'One full shard: load + shardSize ligands.' }) shardSeconds!: number;
  @Field((_type) => Float, { description: 'Instance-seconds billed: every load and every ligand.' }) billedSeconds!: number;
  @Field((_type) => Float, { description: 'GPU-seconds billed; 0 for a CPU model.' }) gpuSeconds!: number;
  @Field((_type) => Float) costUsd!: number;
  @Field((_type) => Float) costPerLigandUsd!: number;
  @Field((_type) => Float, { nullable: true, description: 'Seconds computing over seconds billed; null for a CPU model.' })
  gpuBusyFraction!: number | null;
  @Field((_type) => CostAssumptionsType) assumptions!: CostAssumptionsType;
}
