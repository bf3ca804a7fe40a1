import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Affinity, AffinityHead, ArtifactRef, Result } from '../src/domain/job.js';
import type { Context } from './context.js';
import { ResultType } from './types/job.type.js';
import { AffinityHeadType, AffinityType, ArtifactType } from './types/result.type.js';
import { StructureFormat } from './types/enums.js';

/** Which artifact holds a structure in each format (the runners' file names). */
const STRUCTURE_FILES: Record<StructureFormat, RegExp> = {
  CIF: /\.cif$/i,
  PDB: /^complex\.pdb$|\.pdb$/i,
  PDBQT: /\.pdbqt$/i,
  SDF: /\.sdf$/i,
};

@Resolver((_of) => ResultType)
export class ResultResolver {
  @FieldResolver((_returns) => [ArtifactType], { description: 'Every file the job produced, with download URLs that expire.' })
  async artifacts(@Root() result: Result, @Ctx() ctx: Context) {
    return Promise.all(result.artifacts.map((a) => signArtifact(ctx, a)));
  }

  @FieldResolver((_returns) => ArtifactType, {
    nullable: true,
    description: 'The predicted complex; without `format`, the first structure the model produced.',
  })
  async structure(
    @Root() result: Result,
    @Arg('format', (_type) => StructureFormat, { nullable: true }) format: StructureFormat | null,
    @Ctx() ctx: Context,
  ) {
    const formats = format ? [format] : (Object.keys(STRUCTURE_FILES) as StructureFormat[]);
    for (const f of formats) {
      const found = result.artifacts.find((a) => STRUCTURE_FILES[f].test(a.name));
      if (found) return signArtifact(ctx, found);
    }
    return null;
  }
}

@Resolver((_of) => AffinityType)
export class AffinityResolver {
  @FieldResolver((_returns) => [AffinityHeadType], {
    description: "Boltz-2's two heads, whose mean is `value` and `probabilityBinder`; empty for VINA.",
  })
  heads(@Root() affinity: Affinity): AffinityHead[] {
    // Results stored before the heads were kept have none.
    return affinity.heads ?? [];
  }
}

export async function signArtifact(ctx: Context, artifact: ArtifactRef) {
  const expiresAt = new Date(ctx.app.clock().getTime() + ctx.app.config.signedUrlTtlSeconds * 1000);
  return {
    name: artifact.name,
    contentType: artifact.contentType,
    sizeBytes: artifact.sizeBytes,
    url: await ctx.app.blobs.signedUrl(artifact.key, expiresAt),
  };
}
