/** Submission validation: pure functions over drafts, given a `Chemistry` to read SMILES. */
export { validatePrediction, type PredictionValidation, type ValidPrediction } from './prediction.js';
export { validateBatch, type BatchValidation, type LigandProblem, type ValidBatch } from './batch.js';
export { MODEL_NEEDS, type ModelNeeds } from './model-needs.js';
export { AMINO_ACID_CODES } from './sequence.js';
export * from './limits.js';
export { DEFAULT_RULES, type SubmissionRules } from './rules.js';
