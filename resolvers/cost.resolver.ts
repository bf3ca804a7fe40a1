import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { estimateBatchCost } from '../src/services/estimate-cost.js';
import type { Context } from './context.js';
import { CostEstimateType, EstimateBatchCostInput } from './types/cost.type.js';

@Resolver()
export class CostResolver {
  @Query((_returns) => CostEstimateType, {
    description:
      'Prices a screen before it is submitted: shards, billed seconds and USD on the configured worker instances. ' +
      'BOLTZ2 loads the model once per shard; its MSA is searched once, on the api, and not billed here.',
  })
  estimateBatchCost(
    @Arg('input', (_type) => EstimateBatchCostInput) input: EstimateBatchCostInput,
    @Ctx() ctx: Context,
  ): CostEstimateType {
    const { config } = ctx.app;
    const e = estimateBatchCost(
      { ...config.cost, shardSize: config.shardSize, boltzMaxResidues: config.boltzMaxResidues },
      input,
    );
    return {
      model: input.model,
      ligands: e.ligands,
      shardSize: e.shardSize,
      shards: e.shards,
      shardSeconds: e.shardSeconds,
      billedSeconds: e.billedSeconds,
      gpuSeconds: e.gpuSeconds,
      costUsd: e.costUsd,
      costPerLigandUsd: e.costPerLigandUsd,
      gpuBusyFraction: e.gpuBusyFraction,
      assumptions: {
        instance: e.instance,
        prices: e.prices,
        instancePricePerSecondUsd: e.instancePricePerSecondUsd,
        secondsPerLigand: e.secondsPerLigand,
        modelLoadSeconds: e.modelLoadSeconds,
        proteinLength: e.proteinLength,
        shardTimeLimitSeconds: e.shardTimeLimitSeconds,
      },
    };
  }
}
