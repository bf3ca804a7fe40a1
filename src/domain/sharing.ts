/**
 * Who may see a record: its owner, and the members of its organization when it was shared
 * with it at submission. Only the owner may change it (cancel, retry).
 */

/** The organization a submission belongs to, and whether its members may read it. */
export interface Sharing {
  organizationId: string | null;
  sharedWithOrganization: boolean;
}

export const NOT_SHARED: Sharing = { organizationId: null, sharedWithOrganization: false };

interface Reader {
  id: string;
  organizationId: string | null;
}

interface Readable {
  owner: string;
  organizationId: string | null;
  sharedWithOrganization: boolean;
}

export function canRead(reader: Reader, record: Readable): boolean {
  if (record.owner === reader.id) return true;
  return record.sharedWithOrganization && record.organizationId !== null && record.organizationId === reader.organizationId;
}
