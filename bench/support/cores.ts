import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Pins a process, every thread it has now and so every thread it starts later, to one core
 * (`taskset`), so a server and the load generator measuring it do not take turns on the same core.
 */
export function pinToCore(pid: number | undefined, core: number): void {
  if (pid === undefined) throw new Error('no process to pin');
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(core), String(pid)], { stdio: 'ignore' });
}

/** Cores to pin the server and the load generator to: 0 and 1 unless PIN=0 or the machine has one core. */
export function benchCores(): { server: number; load: number } | undefined {
  return process.env.PIN === '0' || availableParallelism() < 2 ? undefined : { server: 0, load: 1 };
}
