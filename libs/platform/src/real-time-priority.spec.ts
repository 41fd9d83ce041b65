import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  linuxThreadId,
  runAtNormalPriority,
  runInRealTime,
  SCHED_FIFO,
  schedulingPolicyOf,
} from './real-time-priority';

describe('real-time priority', () => {
  it('names the calling thread: the process id on the main thread, another id on a worker thread', async () => {
    assert.equal(linuxThreadId(), process.pid);
    const worker = new Worker(
      `require('node:worker_threads').parentPort.postMessage(require(${JSON.stringify(require.resolve('./real-time-priority'))}).linuxThreadId())`,
      { eval: true },
    );
    const [threadId] = (await once(worker, 'message')) as [number];
    assert.ok(Number.isInteger(threadId) && threadId !== process.pid, `a thread of its own: ${threadId}`);
    assert.ok(
      schedulingPolicyOf(threadId) >= 0,
      'the id is a thread of this process, readable under /proc while it runs',
    );
    await worker.terminate();
  });

  it('moves a thread from normal scheduling to SCHED_FIFO and back (the machines keyward is tested on allow it)', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      assert.equal(schedulingPolicyOf(sleeper.pid!), 0, 'normal scheduling before');
      await runInRealTime(sleeper.pid!);
      assert.equal(schedulingPolicyOf(sleeper.pid!), SCHED_FIFO);
      // SCHED_RESET_ON_FORK shows in chrt's report of the policy.
      assert.match(
        execFileSync('chrt', ['--pid', String(sleeper.pid)], { encoding: 'utf8' }),
        /SCHED_FIFO\|SCHED_RESET_ON_FORK/,
      );
      await runAtNormalPriority(sleeper.pid!);
      assert.equal(schedulingPolicyOf(sleeper.pid!), 0, 'and back');
    } finally {
      sleeper.kill();
    }
  });

  it('moves a thread back to normal scheduling without CAP_SYS_NICE, as under RLIMIT_RTPRIO alone', async () => {
    // The same user without CAP_SYS_NICE, for the thread and the one moving it, as in a service
    // given real-time priority by RLIMIT_RTPRIO: it may not clear SCHED_RESET_ON_FORK (sched_setscheduler(2)).
    const withoutSysNice = (command: string, ...args: string[]): [string, string[]] => [
      'setpriv',
      ['--inh-caps=-sys_nice', '--bounding-set=-sys_nice', command, ...args],
    ];
    const sleeper = spawn(...withoutSysNice('sleep', '30'));
    try {
      await runInRealTime(sleeper.pid!);
      const moveBack = `require(${JSON.stringify(require.resolve('./real-time-priority'))}).runAtNormalPriority(${sleeper.pid})`;
      execFileSync(...withoutSysNice(process.execPath, '-e', moveBack), { stdio: 'pipe' });
      assert.equal(schedulingPolicyOf(sleeper.pid!), 0);
    } finally {
      sleeper.kill();
    }
  });

  it('rejects when the thread cannot be moved', async () => {
    await assert.rejects(runInRealTime(2 ** 22 + 1), 'no such thread');
  });
});
