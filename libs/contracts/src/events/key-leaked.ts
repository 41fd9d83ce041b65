import { z } from 'zod';
import { emailList, isoDate } from '../envelope';

export const KEY_LEAKED = 'KeyLeaked';

/** What keyward did about a leaked key: revoked it at once, or (the key's setting) only told its people. */
export const LEAK_ACTIONS = ['revoked', 'notified'] as const;
export type LeakAction = (typeof LEAK_ACTIONS)[number];

/**
 * A key was found where it should not be (a public repository, a paste, a log). Emitted once per
 * key. Never carries the key text: only which key, where and when it was found, by whom, and
 * what keyward did about it.
 */
export const keyLeakedV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  /** Where the key was found, as the reporter gave it; shown as text, never as a link. */
  url: z.string().max(2048).nullable(),
  /** The reporter's own name for the place (GitHub: `content`, `commit`, `npm`…). */
  source: z.string().max(100).nullable(),
  /** Who reported it: `GitHub secret scanning`, or `reporter token <digest>` for a LEAK_REPORTER_TOKENS holder. */
  reporter: z.string().min(1).max(100),
  reportedAt: isoDate,
  action: z.enum(LEAK_ACTIONS),
});
export type KeyLeakedPayload = z.infer<typeof keyLeakedV1>;
