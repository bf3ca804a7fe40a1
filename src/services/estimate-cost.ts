import type { ModelName } from '../domain/job.js';
import type { ParametersDraft } from '../domain/submission.js';
import type { CostConfig } from '../config.js';
import { InvalidInputError } from '../domain/errors.js';
import { Problems } from '../domain/validation/problems.js';
import { optionalInteger } from '../domain/validation/fields.js';
import { validateParameters } from '../domain/validation/parameters.js';
import { MAX_BATCH_LIGANDS, MAX_SEQUENCE_LENGTH, MIN_SEQUENCE_LENGTH } from '../domain/validation/limits.js';
import {
  BOLTZ_L4_TIMING,
  boltzSecondsPerLigand,
  boltzShardSize,
  estimateScreen,
  pricePerSecond,
  vinaSecondsPerLigand,
  type InstanceShape,
  type Prices,
  type ScreenEstimate,
} from '../domain/cost.js';

/**
 * A screen to price: how many ligands, not the ligands themselves. A script prices a screen
 * before it has (or uploads) its file, and the model does not depend on which ligands they
 * are: their sizes vary the time less than the model's own uncertainty.
 */
export interface EstimateInput {
  model: ModelName;
  ligandCount: number;
  /** BOLTZ2: residues of the target (the structure pass grows with its square); unset = the reference size. */
  proteinLength?: number | null;
  parameters?: ParametersDraft | null;
}

/** What the api knows of the workers: prices, instance shapes, the BOLTZ2 shard time limit, the VINA shard size. */
export interface EstimateSettings extends CostConfig {
  shardSize: number;
  /** `OMTX_BOLTZ_MAX_RESIDUES`: the longest protein BOLTZ2 accepts, so the longest it prices. */
  boltzMaxResidues: number;
}

/** The modelled screen and everything it assumed. */
export interface CostEstimate extends ScreenEstimate {
  model: ModelName;
  /** The protein length the model used (BOLTZ2), null for VINA. */
  proteinLength: number | null;
  instance: InstanceShape;
  prices: Prices;
  instancePricePerSecondUsd: number;
  /** BOLTZ2: the time limit the shard size is planned against; null for VINA. */
  shardTimeLimitSeconds: number | null;
}

/**
 * Prices a screen before it is submitted, with the models of `src/domain/cost.ts`: BOLTZ2
 * on the L4 instance, in the shards the dispatcher would cut (`boltzShardSize`), loading the
 * model once per shard; VINA on the CPU instance, in shards of `OMTX_SHARD_SIZE`, with
 * nothing to load. The MSA is searched once per screen by the api, not on the worker, so it
 * is not billed here. Every problem of the input is reported at once (InvalidInputError).
 */
export function estimateBatchCost(settings: EstimateSettings, input: EstimateInput): CostEstimate {
  const problems = new Problems();
  optionalInteger(problems, ['input', 'ligandCount'], input.ligandCount, { min: 1, max: MAX_BATCH_LIGANDS });
  const maxResidues = input.model === 'BOLTZ2' ? settings.boltzMaxResidues : MAX_SEQUENCE_LENGTH;
  const proteinLength = optionalInteger(problems, ['input', 'proteinLength'], input.proteinLength, {
    min: MIN_SEQUENCE_LENGTH,
    max: maxResidues,
  });
  const parameters = validateParameters(problems, ['input', 'parameters'], input.parameters);
  if (!problems.empty) throw new InvalidInputError(problems.list);

  const boltz = input.model === 'BOLTZ2';
  const residues = proteinLength ?? BOLTZ_L4_TIMING.referenceResidues;
  const instance = boltz ? settings.boltzInstance : settings.vinaInstance;
  const shardSize = boltz ? boltzShardSize(parameters, settings.boltzShardTimeLimitSeconds, { residues }) : settings.shardSize;
  const screen = estimateScreen(
    {
      ligands: input.ligandCount,
      shardSize: Math.min(input.ligandCount, shardSize),
      secondsPerLigand: boltz
        ? boltzSecondsPerLigand(parameters, residues)
        : vinaSecondsPerLigand(parameters.exhaustiveness, instance.vcpus),
      modelLoadSeconds: boltz ? BOLTZ_L4_TIMING.modelLoadSeconds : 0,
      usesGpu: boltz,
    },
    instance,
    settings.prices,
  );
  return {
    ...screen,
    model: input.model,
    proteinLength: boltz ? residues : null,
    instance,
    prices: settings.prices,
    instancePricePerSecondUsd: pricePerSecond(instance, settings.prices),
    shardTimeLimitSeconds: boltz ? settings.boltzShardTimeLimitSeconds : null,
  };
}
