import { stack } from './stack';

export interface MailSummary {
  ID: string;
  /** The Message-ID header, without its angle brackets. */
  MessageID: string;
  Subject: string;
  To: { Address: string }[];
  Created: string;
}

export interface MailMessage extends MailSummary {
  Text: string;
  HTML: string;
}

/** Reads what the SMTP server received, through Mailpit's HTTP API. */
export class Mailpit {
  constructor(private readonly baseUrl = stack.mailpitUrl) {}

  async search(query: string): Promise<MailSummary[]> {
    const res = await fetch(`${this.baseUrl}/api/v1/search?limit=500&query=${encodeURIComponent(query)}`);
    if (!res.ok) throw new Error(`mailpit search ${res.status}`);
    return ((await res.json()) as { messages: MailSummary[] }).messages;
  }

  async message(id: string): Promise<MailMessage> {
    const res = await fetch(`${this.baseUrl}/api/v1/message/${id}`);
    if (!res.ok) throw new Error(`mailpit message ${res.status}`);
    return (await res.json()) as MailMessage;
  }

  /** Every message to an address now. */
  async messagesTo(to: string): Promise<MailMessage[]> {
    return Promise.all((await this.search(`to:"${to}"`)).map((m) => this.message(m.ID)));
  }

  /**
   * Every message to an address once at least `count` have arrived; fails after `timeoutMs`. More
   * may still be on their way: to assert there are no more, await {@link emailsSettled} and read
   * {@link messagesTo} again.
   */
  async waitFor(to: string, count = 1, { timeoutMs = 15_000 } = {}): Promise<MailMessage[]> {
    const deadline = Date.now() + timeoutMs;
    let found = 0;
    while (Date.now() < deadline) {
      found = (await this.search(`to:"${to}"`)).length;
      if (found >= count) return this.messagesTo(to);
      await sleep(100);
    }
    throw new Error(`expected ${count} email(s) to ${to} within ${timeoutMs} ms, got ${found}`);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
