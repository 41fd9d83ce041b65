import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { NotificationSettings } from '../config/notification-service.env';

/** An email the SMTP server accepted: which attempt of which delivery, and what the server said. */
export interface Acceptance {
  deliveryId: string;
  attempt: number;
  messageId: string;
  response: string;
  acceptedAt: string;
}

/** Acceptances per segment file: a segment is deleted once all of its are recorded in the database. */
const SEGMENT_ENTRIES = 1_000;
const SEGMENT = /^accepted-.*\.jsonl$/;

/**
 * This worker's own durable list of the emails SMTP accepted, written and fdatasync'd the moment
 * the server's 250 arrives, before the database hears of it. The database write that records a send
 * can take hundreds of milliseconds under load; a worker killed in it used to leave a `sending`
 * delivery whose email went out again once its lease lapsed. Now the next start of the worker reads
 * what earlier processes left here and records those sends (DeliveriesService) before it attempts
 * anything, so the email is not sent again. What remains open is the time from the end of the DATA
 * command to this write: the server's own commit, the 250 on the wire and the event loop reaching it
 * (docs/RELIABILITY.md).
 *
 * The directory belongs to one instance and must outlive its process (a volume, not the container's
 * layer): a start reads every segment in it, and deletes them once recorded.
 */
@Injectable()
export class AcceptanceJournal implements OnApplicationShutdown {
  private readonly logger = new Logger(AcceptanceJournal.name);
  private readonly dir: string;
  private current?: { path: string; fd: number; entries: number };
  private segments = 0;
  /** Acceptances not yet recorded in the database, per segment this process wrote. */
  private readonly unrecorded = new Map<string, number>();
  /** The segment of each unrecorded acceptance, by `deliveryId#attempt`. */
  private readonly segmentOf = new Map<string, string>();
  /** What earlier processes left, read at start-up before this process writes anything. */
  readonly leftBehind: { acceptances: Acceptance[]; segments: string[] };

  constructor(settings: NotificationSettings) {
    this.dir = settings.DELIVERY_JOURNAL_DIR;
    mkdirSync(this.dir, { recursive: true });
    this.leftBehind = this.read();
  }

  /** Journals an acceptance durably; returns once it is on disk. */
  accepted(acceptance: Acceptance): void {
    if (!this.current || this.current.entries >= SEGMENT_ENTRIES) this.rollOver();
    const segment = this.current!;
    writeSync(segment.fd, `${JSON.stringify(acceptance)}\n`);
    fdatasyncSync(segment.fd);
    segment.entries++;
    this.segmentOf.set(idOf(acceptance), segment.path);
    this.unrecorded.set(segment.path, (this.unrecorded.get(segment.path) ?? 0) + 1);
  }

  /** The database holds this acceptance now; a segment all of whose acceptances it holds is deleted. */
  recorded(acceptance: Pick<Acceptance, 'deliveryId' | 'attempt'>): void {
    const path = this.segmentOf.get(idOf(acceptance));
    if (!path) return;
    this.segmentOf.delete(idOf(acceptance));
    const left = (this.unrecorded.get(path) ?? 1) - 1;
    this.unrecorded.set(path, left);
    if (left === 0 && path !== this.current?.path) this.delete(path);
  }

  /** Deletes the segments earlier processes left, once their acceptances are recorded. */
  discardLeftBehind(): void {
    for (const path of this.leftBehind.segments) this.delete(path);
  }

  onApplicationShutdown(): void {
    const segment = this.current;
    if (!segment) return;
    closeSync(segment.fd);
    // Kept when acceptances in it are not recorded yet: the next start records them.
    if (!this.unrecorded.get(segment.path)) this.delete(segment.path);
    this.current = undefined;
  }

  private rollOver(): void {
    const previous = this.current;
    const path = join(this.dir, `accepted-${Date.now()}-${process.pid}-${++this.segments}.jsonl`);
    const fd = openSync(path, 'a');
    // The new file's directory entry is durable too, or a machine crash could lose the whole file.
    const dir = openSync(this.dir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.current = { path, fd, entries: 0 };
    if (previous) {
      closeSync(previous.fd);
      if (!this.unrecorded.get(previous.path)) this.delete(previous.path);
    }
  }

  private read(): { acceptances: Acceptance[]; segments: string[] } {
    const segments = readdirSync(this.dir)
      .filter((name) => SEGMENT.test(name))
      .sort()
      .map((name) => join(this.dir, name));
    const acceptances: Acceptance[] = [];
    for (const path of segments) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          acceptances.push(JSON.parse(line) as Acceptance);
        } catch {
          // A line torn by the crash was never fdatasync'd: that send is as unknown as one not journaled.
          this.logger.warn(`ignoring a torn line in ${path}`);
        }
      }
    }
    return { acceptances, segments };
  }

  private delete(path: string): void {
    this.unrecorded.delete(path);
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
  }
}

const idOf = (a: Pick<Acceptance, 'deliveryId' | 'attempt'>) => `${a.deliveryId}#${a.attempt}`;
