/** Progress of a sweep's simulations: a bar redrawn in place on a TTY, one line per finished simulation in logs. */

const WIDTH = 24;

export function sweepBar(done: number, total: number, running: number, elapsedS: number): string {
  const filled = total > 0 ? Math.round((WIDTH * done) / total) : WIDTH;
  return `sweep [${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${done}/${total} simulations, ${running} running, ${elapsedS.toFixed(0)} s`;
}

export function sweepLine(done: number, total: number, what: string, outcome: string): string {
  return `sweep ${done}/${total}: ${what}: ${outcome}`;
}
