/**
 * A command that cannot run as given: a bad flag, an unreadable file, a ligand list the api
 * refused. The CLI prints the message and exits 2; `flag` names what to fix.
 */
export class UsageError extends Error {
  constructor(
    readonly flag: string | null,
    message: string,
  ) {
    super(flag ? `${flag}: ${message}` : message);
    this.name = 'UsageError';
  }
}
