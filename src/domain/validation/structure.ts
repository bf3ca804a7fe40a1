import { STRUCTURE_FORMATS, type Structure, type StructureFormat } from '../job.js';
import type { StructureDraft } from '../submission.js';
import { MAX_STRUCTURE_BYTES } from './limits.js';
import { type FieldPath, type Problems, quote } from './problems.js';
import { structureContentProblem } from './structure-content.js';

/**
 * A structure file given inline: a known format, non-empty, at most `MAX_STRUCTURE_BYTES`,
 * and content that looks like the format. `accepted` narrows the formats where a model can
 * read only some (Vina receptors: PDB/PDBQT); `acceptedBecause` says why, for the message.
 */
export function validateStructure(
  problems: Problems,
  path: FieldPath,
  draft: StructureDraft,
  accepted: readonly StructureFormat[] = STRUCTURE_FORMATS,
  acceptedBecause = '',
): Structure | null {
  const before = problems.list.length;
  const { format, content } = draft;
  if (!(STRUCTURE_FORMATS as readonly string[]).includes(format)) {
    problems.add([...path, 'format'], `must be one of ${STRUCTURE_FORMATS.join(', ')}, got ${quote(String(format))}`);
  } else if (!accepted.includes(format)) {
    problems.add([...path, 'format'], `must be ${orList(accepted)}${acceptedBecause}, got ${format}`);
  }

  if (typeof content !== 'string' || content.trim() === '') {
    problems.add([...path, 'content'], 'must not be empty');
  } else if (oversizeBytes(content) !== null) {
    const mib = (oversizeBytes(content)! / 1024 / 1024).toFixed(1);
    problems.add([...path, 'content'], `must be at most ${MAX_STRUCTURE_BYTES / 1024 / 1024} MiB, got ${mib} MiB`);
  } else if ((STRUCTURE_FORMATS as readonly string[]).includes(format)) {
    const problem = structureContentProblem(format, content);
    if (problem !== null) problems.add([...path, 'content'], `${problem} (format given: ${format})`);
  }
  return problems.list.length === before ? { format, content } : null;
}

/**
 * The UTF-8 size when it exceeds the limit, else null. A UTF-16 unit takes at most 3 bytes,
 * so only strings near the limit are encoded to measure them.
 */
function oversizeBytes(text: string): number | null {
  if (text.length * 3 <= MAX_STRUCTURE_BYTES) return null;
  const bytes = new TextEncoder().encode(text).length;
  return bytes > MAX_STRUCTURE_BYTES ? bytes : null;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
