/**
 * Most update statements keyward puts in one command. FerretDB v1 on SQLite (the local stand-in)
 * keeps every statement's read open until the command ends, out of 100 connections per database:
 * an `update` of 100 or more statements that match waits for a connection forever, and the local
 * stack's one-command-at-a-time proxy then stalls every client (docs/stack.md). MongoDB takes
 * 100,000 statements per command, so batches of 50 cost it only a few more round trips.
 */
export const MAX_UPDATES_PER_COMMAND = 50;

/** Writes `items` in batches of at most MAX_UPDATES_PER_COMMAND, one command after another. */
export async function writeInBatches<T>(items: T[], write: (batch: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += MAX_UPDATES_PER_COMMAND) {
    await write(items.slice(i, i + MAX_UPDATES_PER_COMMAND));
  }
}
