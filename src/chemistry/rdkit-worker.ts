/**
 * Worker thread of `parseSmilesInParallel`: loads its own RDKit (WebAssembly instances are
 * per thread) and answers each list of SMILES with the same `parseSmiles` the main thread
 * uses, so both paths give identical results.
 */
import { parentPort } from 'node:worker_threads';
import { loadRdkitChemistry } from './rdkit-chemistry.js';

const chem = await loadRdkitChemistry();
parentPort!.on('message', (smiles: string[]) => {
  parentPort!.postMessage(smiles.map((s) => chem.parseSmiles(s)));
});
parentPort!.postMessage('ready');
