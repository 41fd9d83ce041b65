const reapers = new Set<() => void>();
let installed = false;

/**
 * Runs `reap` when this test process ends: on exit, and on SIGTERM, which is how the test runner
 * stops a file that ran out of time (and which skips 'exit' handlers). Returns a cancel function,
 * for a child that ended on its own.
 */
export function onTestProcessEnd(reap: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', reapAll);
    process.once('SIGTERM', () => {
      reapAll();
      // Then end as SIGTERM would have ended the process without this listener.
      process.kill(process.pid, 'SIGTERM');
    });
  }
  reapers.add(reap);
  return () => reapers.delete(reap);
}

function reapAll(): void {
  for (const reap of reapers) reap();
  reapers.clear();
}
