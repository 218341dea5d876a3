export type { TraceRequest } from '../core/trace-request.js';

export type TraceFormat = 'azure' | 'mooncake' | 'burstgpt' | 'orbitflow' | 'csv' | 'jsonl' | 'synthetic';
