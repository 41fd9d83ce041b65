import { z } from 'zod';
import { RelayHeldMessage, RelayLookup } from './relay-lookup';

/** What this reads of Mailpit's answer to `GET /api/v1/search`; the rest of it is ignored. */
const searchAnswer = z.object({
  messages: z
    .array(
      z.object({
        ID: z.string().regex(/^[\w-]{1,64}$/),
        MessageID: z.string(),
        Created: z.string().datetime({ offset: true }),
      }),
    )
    .nullable(),
});

/** keyward's own Message-IDs (DeliveriesService's messageIdOf): nothing else is looked up. */
const OUR_MESSAGE_ID = /^<([\w.-]{1,200}@keyward)>$/;

/**
 * Mailpit's message search (`GET /api/v1/search?query=message-id:"…"`). Mailpit matches that term
 * as a case-insensitive substring in which `_` matches any character, so the answer is read for
 * the exact Message-ID. Mailpit stores an email before it answers 250, so a send it took is found.
 */
export class MailpitRelayLookup extends RelayLookup {
  private readonly searchUrl: URL;
  private readonly headers: Record<string, string> = { accept: 'application/json' };

  /**
   * `apiUrl`: where Mailpit's web UI and API answer, its --webroot included; `user:password@` for its
   * basic auth. A search taking longer than `timeoutMs` counts as unanswered.
   */
  constructor(
    apiUrl: string,
    private readonly timeoutMs = 5_000,
  ) {
    super();
    const base = new URL(apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
    // fetch refuses credentials in a URL: they go in the header.
    if (base.username) {
      const credentials = `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`;
      this.headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      base.username = '';
      base.password = '';
    }
    this.searchUrl = new URL('api/v1/search', base);
  }

  async find(messageId: string): Promise<RelayHeldMessage | null> {
    const bare = OUR_MESSAGE_ID.exec(messageId)?.[1];
    if (!bare) throw new Error('not a Message-ID keyward sends');
    const url = new URL(this.searchUrl);
    url.searchParams.set('query', `message-id:"${bare}"`);
    url.searchParams.set('limit', '50');
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new Error(`Mailpit's search did not answer: ${causeOf(error, this.timeoutMs)}`);
    }
    if (!res.ok) throw new Error(`Mailpit's search answered ${res.status}`);
    const answer = searchAnswer.safeParse(await res.json().catch(() => undefined));
    if (!answer.success) throw new Error("Mailpit's search answered something else than a list of messages");
    const held = answer.data.messages?.find((m) => m.MessageID === bare);
    return held ? { evidence: `Mailpit holds it as message ${held.ID}, stored ${held.Created}` } : null;
  }
}

/** Why fetch failed, without the URL: `ECONNREFUSED`, `TimeoutError`… */
function causeOf(error: unknown, timeoutMs: number): string {
  const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string } };
  return cause?.code ?? (name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(message));
}
