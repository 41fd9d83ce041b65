import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { RelayHeldMessage, RelayLookup, SentEmail } from './relay-lookup';

const address = z.object({ Address: z.string() });

/** What this reads of Mailpit's answer to `GET /api/v1/search`; the rest of it is ignored. */
const searchAnswer = z.object({
  messages: z
    .array(
      z.object({
        ID: z.string().regex(/^[\w-]{1,64}$/),
        MessageID: z.string(),
        From: address.nullable(),
        To: z.array(address).nullable(),
        Created: z.string().datetime({ offset: true }),
      }),
    )
    .nullable(),
});

/** keyward's own Message-IDs (deliveries/message-id.ts): nothing else is looked up. */
const OUR_MESSAGE_ID = /^<([\w.-]{1,200}@keyward)>$/;

/** The most of an answer read: 50 message summaries take a few tens of KiB. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Mailpit's message search (`GET /api/v1/search?query=message-id:"…"`). Mailpit matches that term
 * as a case-insensitive substring in which `_` matches any character, so the answer is read for
 * the exact Message-ID, and for the email's recipient and keyward's sender: anyone who can submit
 * mail to Mailpit can give a message any Message-ID. Mailpit stores an email before it answers 250,
 * so a send it took is found.
 */
export class MailpitRelayLookup extends RelayLookup {
  private readonly searchUrl: URL;
  private readonly headers: Record<string, string> = { accept: 'application/json' };
  private readonly sender: string;

  /**
   * `apiUrl`: where Mailpit's web UI and API answer, its --webroot included; `user:password@` for its
   * basic auth. `mailFrom`: the sender keyward's emails carry (MAIL_FROM). A search taking longer
   * than `timeoutMs`, answer included, counts as unanswered.
   */
  constructor(
    apiUrl: string,
    mailFrom: string,
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
    this.sender = sameAddress(addressparser(mailFrom, { flatten: true })[0]?.address ?? mailFrom);
  }

  async find({ messageId, to }: SentEmail): Promise<RelayHeldMessage | null> {
    const bare = OUR_MESSAGE_ID.exec(messageId)?.[1];
    if (!bare) throw new Error('not a Message-ID keyward sends');
    const url = new URL(this.searchUrl);
    url.searchParams.set('query', `message-id:"${bare}"`);
    url.searchParams.set('limit', '50');
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw unanswered(error, this.timeoutMs);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Mailpit's search answered ${res.status}`);
    }
    const text = await answerText(res, this.timeoutMs);
    const answer = searchAnswer.safeParse(parseJson(text));
    if (!answer.success) throw new Error("Mailpit's search answered something else than a list of messages");
    const recipient = sameAddress(to);
    const held = answer.data.messages?.find(
      (m) =>
        m.MessageID === bare &&
        sameAddress(m.From?.Address ?? '') === this.sender &&
        (m.To ?? []).some((r) => sameAddress(r.Address) === recipient),
    );
    return held ? { evidence: `Mailpit holds it as message ${held.ID}, stored ${held.Created}` } : null;
  }
}

/** The answer's text, read up to MAX_ANSWER_BYTES: a longer one is refused without reading the rest. */
async function answerText(res: Response, timeoutMs: number): Promise<string> {
  const tooLong = new Error(`Mailpit's search answered more than ${MAX_ANSWER_BYTES} bytes`);
  const reader = res.body?.getReader();
  if (!reader) return '';
  if (Number(res.headers.get('content-length')) > MAX_ANSWER_BYTES) {
    await reader.cancel();
    throw tooLong;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    // The timeout covers the answer's body too.
    const read = await reader.read().catch((error: unknown) => Promise.reject(unanswered(error, timeoutMs)));
    if (read.done) return Buffer.concat(chunks).toString('utf8');
    size += read.value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw tooLong;
    }
    chunks.push(read.value);
  }
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Addresses compared as mail systems treat them in practice: case aside. */
const sameAddress = (address: string) => address.trim().toLowerCase();

/** Why fetch failed, without the URL: `ECONNREFUSED`, `no answer within 5000 ms`… */
function unanswered(error: unknown, timeoutMs: number): Error {
  const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string } };
  const why = cause?.code ?? (name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(message));
  return new Error(`Mailpit's search did not answer: ${why}`);
}
