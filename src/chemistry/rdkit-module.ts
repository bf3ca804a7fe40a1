import rdkitPackage, { type MainModule } from '@rdkit/rdkit';

/**
 * The package is CommonJS whose typings declare an ES default export. Node hands ESM the
 * whole `module.exports` as the default import, so TypeScript sees the namespace there; the
 * emscripten factory (`initRDKitModule`) also sits on `module.exports.default`, which is
 * what both Node and vitest resolve and what the typings describe.
 */
const initRDKitModule = rdkitPackage.default;

/**
 * Instantiating compiles ~9 MB of WebAssembly (hundreds of milliseconds), so every caller
 * shares one promise. A failed load is not cached: the next caller tries again.
 */
let loading: Promise<MainModule> | null = null;

/** The RDKit MinimalLib WebAssembly module, instantiated once per process. */
export function loadRdkitModule(): Promise<MainModule> {
  loading ??= initRDKitModule()
    .then((rdkit) => {
      // RDKit logs every unparseable SMILES to stderr; validation reports those itself.
      rdkit.disable_logging();
      return rdkit;
    })
    .catch((error: unknown) => {
      loading = null;
      throw error;
    });
  return loading;
}
