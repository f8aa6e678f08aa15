/* Many concurrent callers sharing one read without ever being given an answer older than their call.
 *
 * A caller may only join a read that has not been sent yet: at most one read is in flight, and callers
 * arriving while it is in flight wait for the next one, which is sent the moment the one in flight
 * returns (for all of them at once). So every caller gets the result of a read that started after it
 * called, and N concurrent callers cost about two reads instead of N. Joining the read in flight would
 * be cheaper still, but it began before the caller arrived and may miss a change committed just before
 * the caller's request: that is exactly what this refuses. Knows nothing of what is read. */

/** One read function shared by concurrent callers; see the file comment for what a caller may join. */
export class CoalescedRead<T> {
  private inFlight = false;
  /** The callers waiting for the next read, which is not sent yet; undefined when none wait. */
  private next: { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  /** The result of a read that starts no earlier than this call. */
  get(): Promise<T> {
    if (this.next) return this.next.promise;
    if (!this.inFlight) return this.send();
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.next = { promise, resolve, reject };
    return promise;
  }

  /** Sends a read now; when it returns, sends the one the waiting callers joined, if any. */
  private send(): Promise<T> {
    this.inFlight = true;
    let sent: Promise<T>;
    try {
      sent = this.read();
    } catch (error) {
      sent = Promise.reject(error);
    }
    const settled = () => {
      this.inFlight = false;
      const waiting = this.next;
      if (!waiting) return;
      this.next = undefined;
      this.send().then(waiting.resolve, waiting.reject);
    };
    sent.then(settled, settled);
    return sent;
  }
}
