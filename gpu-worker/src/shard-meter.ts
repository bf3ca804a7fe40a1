/**
 * Splits a shard's wall-clock time among its jobs, so that what the jobs record sums to what
 * the instance was billed for the shard. Each job is billed the time its runner reports for
 * it (or, when the runner reports none, the time since the previous job was billed), never
 * more than is left unbilled; the shard's last job also takes what remains: the model load,
 * the MSA read, the uploads. A runner that reports every ligand at the end of one process
 * (as `boltz predict` over a directory does) still gets each ligand's own time this way.
 */
export class ShardMeter {
  #billedMs = 0;

  /** `jobs`: how many jobs of the shard will be billed, each exactly once. */
  constructor(
    private readonly startedAt: Date,
    private jobs: number,
  ) {}

  /** Seconds to bill the next job, at `now`; `reportedSeconds` is the runner's figure for it. */
  take(now: Date, reportedSeconds?: number): number {
    const unbilledMs = Math.max(0, now.getTime() - this.startedAt.getTime() - this.#billedMs);
    this.jobs = Math.max(0, this.jobs - 1);
    const ms =
      this.jobs === 0 || reportedSeconds === undefined ? unbilledMs : Math.min(unbilledMs, Math.max(0, reportedSeconds * 1000));
    this.#billedMs += ms;
    return ms / 1000;
  }

  /** One job will not be billed (it was cancelled before it ran): the rest is left to the others. */
  drop(): void {
    this.jobs = Math.max(0, this.jobs - 1);
  }
}
