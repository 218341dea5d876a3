import { blocksPerLayer } from '../core/model-spec.js';

/** What the ledger needs of a request: the blocks it holds and what it should hold. */
export interface LedgerEntry {
  readonly id: string;
  gpuBlocks: number;
  hostBlocks: number;
}

export interface AuditedRequest extends LedgerEntry {
  readonly phase: 'pending' | 'waiting' | 'running' | 'paused' | 'finished';
  readonly gpuLayers: number;
  readonly kvTokens: number;
}

/**
 * The engine's KV block accounting in per-layer blocks (16 tokens of one layer of one request):
 * the GPU budget and the host tier. Every change goes through `setGpu` / `setHost`, so the totals
 * are kept in step with the requests by construction; `audit` recounts from the requests and
 * checks the invariants a test can rely on at any step boundary.
 */
export class BlockLedger {
  gpuUsed = 0;
  hostUsed = 0;

  constructor(
    readonly gpuTotal: number,
    readonly hostTotal: number,
  ) {}

  setGpu(e: LedgerEntry, blocks: number): void {
    this.gpuUsed += blocks - e.gpuBlocks;
    e.gpuBlocks = blocks;
  }

  setHost(e: LedgerEntry, blocks: number): void {
    this.hostUsed += blocks - e.hostBlocks;
    e.hostBlocks = blocks;
  }

  release(e: LedgerEntry): void {
    this.setGpu(e, 0);
    this.setHost(e, 0);
  }

  /**
   * Invariants, recounted from scratch: (1) the totals equal the sum over requests; (2) a running
   * request holds exactly gpuLayers · ⌈kv/16⌉ GPU blocks; (3) paused, waiting and finished ones
   * hold no GPU block, and only running or paused ones hold host blocks; (4) neither tier is over
   * its capacity. Throws on the first violation.
   */
  audit(requests: Iterable<AuditedRequest>): void {
    let gpu = 0;
    let host = 0;
    for (const r of requests) {
      gpu += r.gpuBlocks;
      host += r.hostBlocks;
      if (r.phase === 'running') {
        const want = r.gpuLayers * blocksPerLayer(r.kvTokens);
        if (r.gpuBlocks !== want) throw new Error(`request ${r.id}: ${r.gpuBlocks} GPU blocks, expected ${want}`);
      } else if (r.gpuBlocks !== 0) {
        throw new Error(`${r.phase} request ${r.id} holds ${r.gpuBlocks} GPU blocks`);
      }
      if (r.phase !== 'running' && r.phase !== 'paused' && r.hostBlocks !== 0) throw new Error(`${r.phase} request ${r.id} holds ${r.hostBlocks} host blocks`);
    }
    if (gpu !== this.gpuUsed) throw new Error(`GPU ledger ${this.gpuUsed} ≠ recount ${gpu}`);
    if (host !== this.hostUsed) throw new Error(`host ledger ${this.hostUsed} ≠ recount ${host}`);
    if (gpu > this.gpuTotal) throw new Error(`GPU blocks ${gpu} exceed the budget ${this.gpuTotal}`);
    if (host > this.hostTotal) throw new Error(`host blocks ${host} exceed the capacity ${this.hostTotal}`);
  }
}
