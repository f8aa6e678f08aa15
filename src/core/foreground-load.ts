/** How busy this process is with foreground work (G11): the requests it is serving now. Background work
 * in the same process (the mail worker) reads it to yield to the club's requests, which share its event
 * loop and its cores. Knows nothing of HTTP or of mail: the http layer counts requests in and out. */
export class ForegroundLoad {
  private inFlight = 0;
  private lastEnded = Number.NEGATIVE_INFINITY;
  private waiters: Array<() => void> = [];

  /** @param settleMs how long after the last request ends the process still counts as busy: under load
   * a client's next request follows its last one within a millisecond or two, and background work let in
   * at every such gap would run at full speed between requests. */
  constructor(private readonly settleMs = 25) {}

  /** One piece of foreground work begins; call the returned function (once) when it ends. */
  begin(): () => void {
    this.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      this.lastEnded = performance.now();
      if (this.inFlight === 0) setTimeout(() => this.wake(), this.settleMs + 1).unref();
    };
  }

  /** Foreground work under way now. */
  active(): number {
    return this.inFlight;
  }

  /** True while foreground work runs, or ended less than settleMs ago. */
  busy(): boolean {
    return this.inFlight > 0 || performance.now() - this.lastEnded < this.settleMs;
  }

  /** Resolves once the process is no longer busy, or after `timeoutMs`, whichever comes first. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.push(done);
    });
  }

  private wake(): void {
    if (this.busy()) return;
    for (const waiter of [...this.waiters]) waiter();
  }
}
