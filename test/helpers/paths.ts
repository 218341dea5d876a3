import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

// Compiled tests live in dist/test/…; the repository root is three levels above dist/test/helpers.
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED_TRACES = resolve(REPO_ROOT, '../shared/traces');
export const AZURE_CONV = join(SHARED_TRACES, 'azure-2023/conv.csv');
export const AZURE_CODE = join(SHARED_TRACES, 'azure-2023/code.csv');
export const MOONCAKE_CONV = join(SHARED_TRACES, 'mooncake/conversation.jsonl');
export const BIN = join(REPO_ROOT, 'bin/orbitflow');
export const PROFILES = join(REPO_ROOT, 'profiles');
