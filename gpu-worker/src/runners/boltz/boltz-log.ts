import { basename, extname } from 'node:path';

/**
 * Where `boltz predict` is: reading the inputs, predicting every structure, then predicting
 * every affinity (a second model over all inputs, once the first is done).
 */
export type BoltzStage = 'PREPROCESS' | 'STRUCTURE' | 'AFFINITY';

/** Boltz's line for a batch (one input) that ran out of GPU memory. */
const OUT_OF_MEMORY = '| WARNING: ran out of memory, skipping batch';

/** Lines kept from the start and from the end of the output; the middle of a runaway log is dropped. */
const HEAD_LINES = 500;
const TAIL_LINES = 5_000;

/**
 * The output of one `boltz predict`, read as it arrives. Boltz exits 0 when it skips an input,
 * so the reasons are here: the facts are taken from each line as it comes (never lost to
 * the size cap), and `toString()` gives the text for `log.txt`.
 *
 * Line formats are Boltz 2.x's (src/boltz/main.py, data/module/inferencev2.py, model/models/boltz2.py).
 */
export class BoltzLog {
  #stage: BoltzStage = 'PREPROCESS';
  readonly #rejected = new Map<string, string>();
  readonly #skipped = {
    PREPROCESS: new Map<string, string>(),
    STRUCTURE: new Map<string, string>(),
    AFFINITY: new Map<string, string>(),
  };
  readonly #outOfMemory = { PREPROCESS: 0, STRUCTURE: 0, AFFINITY: 0 };
  #lastError: string | null = null;
  readonly #head: string[] = [];
  #tail: string[] = [];
  #omitted = 0;

  add(line: string): void {
    this.#keep(line);
    // Lightning draws its progress bar without a newline, so Boltz's prints during a stage
    // arrive glued to the bar ("Predicting DataLoader 0: 0%|…| WARNING: ran out of memory,
    // skipping batch", jwohlwend/boltz#167): the markers are searched anywhere in a line.
    if (line.includes('Running structure prediction for ')) this.#stage = 'STRUCTURE';
    else if (line.includes('Predicting property: affinity')) this.#stage = 'AFFINITY';
    this.#outOfMemory[this.#stage] += line.split(OUT_OF_MEMORY).length - 1;
    if (/^[\w.]*(Error|Exception)\b.*:/.test(line)) this.#lastError = line;
    // `print(f"Failed to process {path}. Skipping. Error: {e}.")` after a traceback on stderr.
    const rejected = /Failed to process (.+?)\. Skipping\. Error: (.*)$/.exec(line);
    if (rejected) this.#rejected.set(stemOf(rejected[1]!), withoutFinalPeriod(rejected[2]!));
    // An input the data loader could not featurize is skipped (and another predicted in its place).
    const skipped =
      /(Tokenizer|Cropper|Featurizer) failed on (\S+) with error (.*)\. Skipping\.$/.exec(line) ??
      /(Molecule loading) failed for (\S+) with error (.*)\. Skipping\.$/.exec(line);
    if (skipped) this.#skipped[this.#stage].set(skipped[2]!, `${skipped[1]} failed: ${skipped[3]}`);
  }

  get stage(): BoltzStage {
    return this.#stage;
  }

  /** Why Boltz refused to read the input `stem`, when it did ("Failed to process …"). */
  rejection(stem: string): string | undefined {
    return this.#rejected.get(stem);
  }

  /** Why the input `stem` was skipped by the data loader in `stage`, when it was. */
  skipped(stage: BoltzStage, stem: string): string | undefined {
    return this.#skipped[stage].get(stem);
  }

  /** How many inputs ran out of GPU memory in `stage`; Boltz does not say which. */
  outOfMemory(stage: BoltzStage): number {
    return this.#outOfMemory[stage];
  }

  /** The last `SomeError: …` line, the message of a crash's traceback. */
  get lastError(): string | null {
    return this.#lastError;
  }

  toString(): string {
    const omitted = this.#omitted > 0 ? [`… ${this.#omitted} lines omitted …`] : [];
    return [...this.#head, ...omitted, ...this.#tail].map((line) => `${line}\n`).join('');
  }

  #keep(line: string): void {
    if (this.#head.length < HEAD_LINES) {
      this.#head.push(line);
      return;
    }
    this.#tail.push(line);
    if (this.#tail.length > 2 * TAIL_LINES) {
      this.#omitted += this.#tail.length - TAIL_LINES;
      this.#tail = this.#tail.slice(-TAIL_LINES);
    }
  }
}

function stemOf(path: string): string {
  return basename(path, extname(path));
}

function withoutFinalPeriod(text: string): string {
  return text.replace(/\.$/, '');
}
