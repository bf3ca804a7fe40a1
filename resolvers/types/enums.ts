import { registerEnumType } from 'type-graphql';

/** GraphQL enums; their values are the domain's strings, so no mapping is needed. */
export enum ModelName {
  BOLTZ2 = 'BOLTZ2',
  VINA = 'VINA',
}
export enum JobStatus {
  PENDING = 'PENDING',
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
export enum BatchStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
export enum JobKind {
  INDIVIDUAL = 'INDIVIDUAL',
  BATCH_CHILD = 'BATCH_CHILD',
}
export enum StructureFormat {
  PDB = 'PDB',
  PDBQT = 'PDBQT',
  CIF = 'CIF',
  SDF = 'SDF',
}
export enum MsaFormat {
  A3M = 'A3M',
  CSV = 'CSV',
}
export enum AffinityUnit {
  LOG10_IC50_UM = 'LOG10_IC50_UM',
  KCAL_PER_MOL = 'KCAL_PER_MOL',
}
export enum InvalidLigandPolicy {
  REJECT = 'REJECT',
  SKIP = 'SKIP',
}
export enum BatchJobOrderField {
  INDEX = 'INDEX',
  AFFINITY = 'AFFINITY',
  CONFIDENCE = 'CONFIDENCE',
}
export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
export enum ExportFormat {
  CSV = 'CSV',
  SDF = 'SDF',
  JSON = 'JSON',
}

registerEnumType(ModelName, { name: 'ModelName' });
registerEnumType(JobStatus, { name: 'JobStatus' });
registerEnumType(BatchStatus, { name: 'BatchStatus' });
registerEnumType(JobKind, { name: 'JobKind' });
registerEnumType(StructureFormat, { name: 'StructureFormat' });
registerEnumType(MsaFormat, {
  name: 'MsaFormat',
  valuesConfig: {
    A3M: { description: 'A3M (as ColabFold and HHblits write it): the protein first, insertions in lower case.' },
    CSV: { description: "Boltz's MSA CSV: the header `key,sequence`, the protein's row first." },
  },
});
registerEnumType(AffinityUnit, {
  name: 'AffinityUnit',
  valuesConfig: {
    LOG10_IC50_UM: { description: "Boltz-2's affinity: log10 of IC50 in µM (lower binds tighter)." },
    KCAL_PER_MOL: { description: "Vina's docking score in kcal/mol (lower binds tighter)." },
  },
});
registerEnumType(InvalidLigandPolicy, {
  name: 'InvalidLigandPolicy',
  valuesConfig: {
    REJECT: { description: 'One invalid ligand rejects the whole batch, listing every problem.' },
    SKIP: { description: 'Valid ligands are submitted; invalid ones come back in `skipped`.' },
  },
});
registerEnumType(BatchJobOrderField, { name: 'BatchJobOrderField' });
registerEnumType(OrderDirection, { name: 'OrderDirection' });
registerEnumType(ExportFormat, { name: 'ExportFormat' });
