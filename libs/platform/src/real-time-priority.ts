import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

/** Linux's SCHED_FIFO, as `schedulingPolicyOf` reads it. */
export const SCHED_FIFO = 1;

/** The calling thread's Linux thread id (the main thread's is the process id); undefined elsewhere. */
export function linuxThreadId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  // A link to "<pid>/task/<tid>".
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}

/**
 * Moves a thread to real-time scheduling, SCHED_FIFO at its lowest priority (1), with util-linux's
 * `chrt`: woken, it runs at once, ahead of every normally scheduled thread on its core, instead of
 * waiting for their time slices to end (1–3 ms on a busy core). The kernel's real-time throttle
 * (kernel.sched_rt_runtime_us, 95% by default) still leaves the others a share of each core should
 * it never sleep. Refused without CAP_SYS_NICE (or an RLIMIT_RTPRIO of at least 1), and by a cgroup
 * with no real-time budget.
 */
export async function runInRealTime(threadId: number): Promise<void> {
  // Processes it starts begin at normal priority.
  await promisify(execFile)('chrt', ['--fifo', '--reset-on-fork', '--pid', '1', String(threadId)], {
    timeout: 5_000,
  });
}

/**
 * Moves a thread back to normal scheduling (SCHED_OTHER), as every thread starts. It keeps
 * SCHED_RESET_ON_FORK, which only CAP_SYS_NICE may clear: a service with RLIMIT_RTPRIO alone would
 * otherwise be refused, and stay at real-time priority. chrt before util-linux 2.37 takes that flag
 * with real-time policies only: there the thread is moved without it (which then needs CAP_SYS_NICE).
 */
export async function runAtNormalPriority(threadId: number): Promise<void> {
  const chrt = (options: string[]) =>
    promisify(execFile)('chrt', [...options, '--other', '--pid', '0', String(threadId)], { timeout: 5_000 });
  await chrt(['--reset-on-fork']).catch(() => chrt([]));
}

/** A Linux thread's scheduling policy (0 normal, 1 SCHED_FIFO, …), from /proc. */
export function schedulingPolicyOf(threadId: number): number {
  const stat = readFileSync(`/proc/${threadId}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from the 3rd: the policy is the 41st.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
}
