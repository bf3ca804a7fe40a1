import type { Parameters } from '../job.js';
import type { ParametersDraft } from '../submission.js';
import { optionalInteger } from './fields.js';
import { PARAMETER_RANGES } from './limits.js';
import type { FieldPath, Problems } from './problems.js';

/**
 * Prediction parameters: every integer within its range (`PARAMETER_RANGES`). Each model
 * reads its own and a parameter of the other model is accepted, checked and ignored. The
 * record has every key, null where unset: the runner then applies its documented default.
 */
export function validateParameters(problems: Problems, path: FieldPath, draft: ParametersDraft | null | undefined): Parameters {
  const given = draft ?? {};
  const integer = (key: keyof typeof PARAMETER_RANGES) =>
    optionalInteger(problems, [...path, key], given[key], PARAMETER_RANGES[key]);

  let useMsaServer: boolean | null = null;
  if (given.useMsaServer !== null && given.useMsaServer !== undefined) {
    if (typeof given.useMsaServer === 'boolean') useMsaServer = given.useMsaServer;
    else problems.add([...path, 'useMsaServer'], `must be true or false, got ${String(given.useMsaServer)}`);
  }

  return {
    seed: integer('seed'),
    diffusionSamples: integer('diffusionSamples'),
    samplingSteps: integer('samplingSteps'),
    recyclingSteps: integer('recyclingSteps'),
    useMsaServer,
    exhaustiveness: integer('exhaustiveness'),
    numPoses: integer('numPoses'),
  };
}
