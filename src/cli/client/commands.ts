import { DEMO_LIGANDS, DEMO_OUT, parseDemoArgs } from './demo.js';
import { ApiUnreachableError, GraphqlRequestError } from './graphql-client.js';
import { EXIT, runScreen } from './run-screen.js';
import { DEFAULT_URL, parseScreenArgs, type ScreenCommand } from './screen-args.js';
import { UsageError } from './usage-error.js';

export const SCREEN_USAGE = `usage: omtx screen --ligands FILE --receptor FILE (--center X,Y,Z --size X,Y,Z | --box FILE)
                   [--name NAME] [--exhaustiveness N] [--num-poses N] [--seed N] [--skip-invalid]
                   [--out FILE] [--format CSV|JSON|SDF] [--url URL]
       omtx screen --attach BATCH_ID [--out FILE] [--format CSV|JSON|SDF] [--url URL]

Docks every ligand into the receptor's pocket with AutoDock Vina as one batch, shows its
progress live, then downloads the ranked results and prints the best five.
  --ligands FILE      .smi ("SMILES name" per line) or .csv with a smiles and a name column
  --receptor FILE     .pdb or .pdbqt
  --center, --size    the docking box in Å, or --box FILE in Vina's format (center_x = …)
  --skip-invalid      screen the valid ligands and list the invalid ones (else any refuses all)
  --out FILE          where the export goes (default results.csv/.json/.sdf by --format)
  --url URL           the api's GraphQL endpoint (default $OMTX_URL or ${DEFAULT_URL})
  --attach BATCH_ID   watch a batch submitted earlier and download its results
Ctrl-C detaches: the batch keeps running, and the command to resume watching is printed.
Exit codes: 0 the batch COMPLETED, 1 it FAILED or was CANCELLED (or the api could not be
reached), 2 bad arguments or input the api refused, 130 detached with Ctrl-C.`;

export const DEMO_USAGE = `usage: omtx demo [--url URL]

Screens imatinib, the crystal ligand of c-Abl (PDB 1IEP), and ${DEMO_LIGANDS.length - 1} drug-like decoys against
the 1IEP receptor in AutoDock Vina's example box (exhaustiveness 4, seed 1), writes
./${DEMO_OUT} and prints the ranking; imatinib is expected at or near the top. Reads the
sample from ../shared/fixtures beside the repository, or from $OMTX_FIXTURES. Exit codes as
for omtx screen.`;

/**
 * Runs `omtx screen` or `omtx demo` with the arguments after the command word and returns the
 * exit code. Ctrl-C while watching detaches; a second Ctrl-C exits at once.
 */
export async function runClientCommand(command: 'screen' | 'demo', argv: string[]): Promise<number> {
  const usage = command === 'screen' ? SCREEN_USAGE : DEMO_USAGE;
  let parsed: ScreenCommand | null;
  try {
    parsed = command === 'screen' ? parseScreenArgs(argv) : parseDemoArgs(argv);
  } catch (error) {
    return fail(error, usage);
  }
  if (!parsed) {
    console.log(usage);
    return 0;
  }
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(EXIT.detached);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runScreen(parsed, { out: process.stdout, interrupt: interrupt.signal });
    if (command === 'demo' && result.batch) {
      const rank = result.batch.summary.top.findIndex((j) => j.name === 'imatinib');
      console.log(rank < 0 ? 'imatinib has no score' : `imatinib ranked #${rank + 1} of ${result.batch.summary.scored}`);
    }
    return result.exitCode;
  } catch (error) {
    return fail(error, null);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function fail(error: unknown, usage: string | null): number {
  if (error instanceof UsageError) {
    console.error(`omtx: ${error.message}`);
    if (usage && error.flag) console.error(`run with --help for the usage`);
    return EXIT.usage;
  }
  if (error instanceof ApiUnreachableError || error instanceof GraphqlRequestError) {
    console.error(`omtx: ${error.message}`);
    return EXIT.failed;
  }
  console.error(error);
  return EXIT.failed;
}
