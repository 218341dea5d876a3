/**
 * Online Token-Deposit balance per request (orbitflow-method.md §7.1): every generated token goes
 * into the request's bank; the client is fed from the bank at the SLO cadence (one token per S ms
 * since the last release). The balance is how many tokens the request is ahead of its SLO, so the
 * planner can let it absorb a slower step. Keyed by the request id the engine reports — the
 * artifact keyed its map by another id and so always fed the planner zero.
 */
interface Account {
  sloMs: number;
  bank: number;
  lastReleaseMs: number;
  started: boolean;
}

export class DepositTracker {
  private readonly accounts = new Map<string, Account>();

  register(id: string, sloTpotMs: number): void {
    if (!this.accounts.has(id)) this.accounts.set(id, { sloMs: sloTpotMs, bank: 0, lastReleaseMs: 0, started: false });
  }

  /** `tokens` new tokens of request `id` reached the client at `nowMs`. */
  onTokens(id: string, nowMs: number, tokens = 1): void {
    const a = this.accounts.get(id);
    if (!a) return;
    if (!a.started) {
      // The first token is delivered at once and starts the cadence.
      a.started = true;
      a.lastReleaseMs = nowMs;
      a.bank += tokens - 1;
      return;
    }
    a.bank += tokens;
    this.release(a, nowMs);
  }

  private release(a: Account, nowMs: number): void {
    if (a.bank <= 0) return;
    const due = Math.floor((nowMs - a.lastReleaseMs) / a.sloMs);
    if (due <= 0) return;
    const released = Math.min(due, a.bank);
    a.bank -= released;
    a.lastReleaseMs = a.bank === 0 ? nowMs : a.lastReleaseMs + released * a.sloMs;
  }

  /** Tokens banked ahead of the SLO cadence at `nowMs`. */
  balance(id: string, nowMs: number): number {
    const a = this.accounts.get(id);
    if (!a) return 0;
    this.release(a, nowMs);
    return a.bank;
  }

  forget(id: string): void {
    this.accounts.delete(id);
  }

  size(): number {
    return this.accounts.size;
  }
}
