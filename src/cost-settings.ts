import { z } from 'zod';
import { availableParallelism, totalmem } from 'node:os';
import { CLOUD_RUN_PRICES, type InstanceShape, type Prices } from './domain/cost.js';

/**
 * The cost settings the api and the worker share: the same price variables, and this machine
 * as the default instance of the embedded worker.
 */

/** This machine as an instance: its cores and memory, no GPU. */
export function localMachineShape(): InstanceShape {
  return { gpus: 0, vcpus: availableParallelism(), memoryGib: Math.round((totalmem() / 2 ** 30) * 100) / 100 };
}

/** USD per second of one GPU, vCPU and GiB; Cloud Run's instance-based list prices by default (`CLOUD_RUN_PRICES`). */
export const priceEnv = {
  OMTX_PRICE_GPU_PER_SECOND: z.coerce.number().min(0).default(CLOUD_RUN_PRICES.gpuPerSecond),
  OMTX_PRICE_VCPU_PER_SECOND: z.coerce.number().min(0).default(CLOUD_RUN_PRICES.vcpuPerSecond),
  OMTX_PRICE_GIB_PER_SECOND: z.coerce.number().min(0).default(CLOUD_RUN_PRICES.gibPerSecond),
};

export function pricesFrom(c: z.infer<z.ZodObject<typeof priceEnv>>): Prices {
  return {
    gpuPerSecond: c.OMTX_PRICE_GPU_PER_SECOND,
    vcpuPerSecond: c.OMTX_PRICE_VCPU_PER_SECOND,
    gibPerSecond: c.OMTX_PRICE_GIB_PER_SECOND,
  };
}
