import { parseArgs } from 'node:util';
import { ConfigError } from '../env-settings.js';
import { SERVE_FLAGS } from './serve-flags.js';

const USAGE = `usage: omtx serve [--host H] [--port N] [--data-dir DIR] [--worker-url URL]
       omtx worker
       omtx screen --ligands FILE --receptor FILE (--center X,Y,Z --size X,Y,Z | --box FILE) [...]
       omtx demo [--url URL]
       omtx keys create --user ID [--org ID] [--name NAME]   (also: keys list, keys revoke)

serve   starts the OMTX-Hub api (GraphQL at /graphql, GraphiQL in a browser), the local
        task dispatcher and, unless --worker-url names one, a worker process, on the
        embedded default: SQLite and files in the data directory.
worker  runs only the worker service (the task target), on OMTX_WORKER_PORT.
screen  submits a Vina screen to a running api, shows its progress, downloads the results
        (omtx screen --help for every flag).
demo    screens imatinib and decoys against c-Abl (1IEP) from the shared fixtures.
keys    creates, lists and revokes API keys in the data directory (omtx keys --help).
Every serve flag has an environment variable (see the README's configuration table).`;

async function main(argv: string[]): Promise<void> {
  // The client commands have their own flags and talk to an api over HTTP and graphql-ws.
  if (argv[0] === 'screen' || argv[0] === 'demo') {
    const { runClientCommand } = await import('./client/commands.js');
    process.exitCode = await runClientCommand(argv[0], argv.slice(1));
    return;
  }
  if (argv[0] === 'keys') {
    const { runKeysCommand } = await import('./keys-command.js');
    process.exitCode = await runKeysCommand(argv.slice(1));
    return;
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...Object.fromEntries(Object.keys(SERVE_FLAGS).map((f) => [f, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (command === 'worker' && !values.help) return (await import('../../gpu-worker/src/main.js')).runWorkerCommand(process.env);
  if (values.help || command !== 'serve') {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  // Loaded on demand: the client commands start without the server's modules.
  await (await import('./serve-command.js')).runServeCommand(values);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`omtx: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
