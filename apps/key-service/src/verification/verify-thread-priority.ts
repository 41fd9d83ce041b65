import { Logger } from '@nestjs/common';
import { runAtNormalPriority, runInRealTime } from '@keyward/platform';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';

/** How often the worker's load is looked at. */
const PRIORITY_CHECK_MS = 1_000;
/** Busier than this (the share of a check its event loop was working), the worker gives up real-time priority… */
const BUSY = 0.5;
/** …and takes it back once below this. */
const LIGHT = 0.25;

/**
 * VERIFY_THREAD_PRIORITY=realtime for one internal-listener worker: its thread runs at real-time
 * priority while its event loop is light, so that a verification does not wait for a core behind
 * key creation. While it is busier than BUSY, as under a flood of verifications, it runs at normal
 * priority and gets a fair share of its core instead of the 95% the kernel's real-time throttle
 * would leave it, taking real-time priority back once below LIGHT.
 */
export class VerifyThreadPriority {
  private readonly logger = new Logger(VerifyThreadPriority.name);
  private realTime = false;
  /** A change of priority under way (chrt runs); the checks meanwhile only follow the load. */
  private changing = false;
  private checking?: NodeJS.Timeout;
  private lastLoad?: EventLoopUtilization;
  private stopped = false;

  constructor(
    private readonly worker: Worker,
    private readonly threadId: number | undefined,
  ) {}

  /** Takes real-time priority and starts following the worker's load; whether it could (a refusal is logged). */
  async start(): Promise<boolean> {
    try {
      if (this.threadId === undefined) throw new Error('real-time priority is set on Linux only');
      await runInRealTime(this.threadId);
    } catch (error) {
      this.logger.warn(
        { err: error },
        'VERIFY_THREAD_PRIORITY=realtime refused (it needs Linux, chrt, and CAP_SYS_NICE or an RLIMIT_RTPRIO of 1): the internal listener runs at normal priority',
      );
      return false;
    }
    this.realTime = true;
    if (this.stopped) return true;
    this.lastLoad = this.worker.performance.eventLoopUtilization();
    this.checking = setInterval(() => void this.check(), PRIORITY_CHECK_MS).unref();
    return true;
  }

  /** Stops following the worker (it ended); its thread is gone with it. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.checking);
  }

  private async check(): Promise<void> {
    const load = this.worker.performance.eventLoopUtilization();
    const { utilization } = this.worker.performance.eventLoopUtilization(load, this.lastLoad);
    this.lastLoad = load;
    if (this.changing) return;
    this.changing = true;
    try {
      if (this.realTime && utilization > BUSY) {
        await runAtNormalPriority(this.threadId!);
        this.realTime = false;
        this.logger.warn(
          `the internal listener was busy ${Math.round(utilization * 100)}% of the last second: at normal priority until below ${LIGHT * 100}%`,
        );
      } else if (!this.realTime && utilization < LIGHT) {
        await runInRealTime(this.threadId!);
        this.realTime = true;
        this.logger.log('the internal listener is at real-time priority again');
      }
    } catch (error) {
      // Its thread ended since (the worker is being started again), or chrt failed once: the next check tries again.
      this.logger.warn({ err: error }, 'could not change the internal listener’s priority');
    } finally {
      this.changing = false;
    }
  }
}
