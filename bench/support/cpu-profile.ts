import { WebSocket } from 'node:http';

/** V8's CPU profile (the `.cpuprofile` format of `node --cpu-prof` and Chrome's DevTools). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    hitCount?: number;
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Records a CPU profile of another Node process while `during` runs, through the inspector that
 * process opened (`--inspect=127.0.0.1:PORT`). The same sampler as `node --cpu-prof`, but for the
 * load window alone: `--cpu-prof` writes its profile only on a clean exit, and a Nest service ends
 * on SIGTERM by re-raising the signal, so it never would. `thread: 'worker'` profiles the process's
 * (first) worker thread instead of its main thread, through the inspector's NodeWorker domain:
 * key-service's internal verification listener runs there.
 */
export async function profileWhile<T>(
  inspectPort: number,
  during: () => Promise<T>,
  { samplingIntervalUs = 250, thread = 'main' }: { samplingIntervalUs?: number; thread?: 'main' | 'worker' } = {},
): Promise<{ result: T; profile: CpuProfile }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', reject, { once: true });
  });
  type Message = { id?: number; result?: unknown; method?: string; params?: Record<string, string> };
  const waiting = new Map<number, (result: unknown) => void>();
  const events = new Map<string, (params: Record<string, string>) => void>();
  const received = (message: Message) => {
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
    else if (message.method) events.get(message.method)?.(message.params ?? {});
  };
  socket.addEventListener('message', (event) => received(JSON.parse(String(event.data)) as Message));
  let nextId = 1;
  const command = (method: string, params: object, deliver: (message: string) => void) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      deliver(JSON.stringify({ id, method, params }));
    });
  const toProcess = (method: string, params: object = {}) => command(method, params, (text) => socket.send(text));
  let send = toProcess;
  if (thread === 'worker') {
    const attached = new Promise<string>((resolve) =>
      events.set('NodeWorker.attachedToWorker', ({ sessionId }) => resolve(sessionId)),
    );
    // The worker's answers arrive as events of the process's session, each one of its messages.
    events.set('NodeWorker.receivedMessageFromWorker', ({ message }) => received(JSON.parse(message) as Message));
    await toProcess('NodeWorker.enable', { waitForDebuggerOnStart: false });
    const sessionId = await attached;
    send = (method, params = {}) =>
      command(method, params, (message) => void toProcess('NodeWorker.sendMessageToWorker', { sessionId, message }));
  }
  try {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await send('Profiler.start');
    const result = await during();
    const { profile } = (await send('Profiler.stop')) as { profile: CpuProfile };
    return { result, profile };
  } finally {
    socket.close();
  }
}
