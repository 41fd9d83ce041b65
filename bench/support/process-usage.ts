import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;

/** CPU time a process has used so far (user + system), in ms, from /proc (10 ms resolution). */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Math.round(Number(kb) / 1024) : 0;
}
