/** An email the SMTP relay holds, as its message search reports it. */
export interface RelayHeldMessage {
  /** What the relay said about it, recorded with the send in place of an SMTP reply. */
  evidence: string;
}

/** An email keyward sent or may have sent, as the relay is asked about it. */
export interface SentEmail {
  /** Its Message-ID, with angle brackets. */
  messageId: string;
  /** Its one recipient. */
  to: string;
}

/**
 * Asks the SMTP relay whether it already holds an email with a given Message-ID: SMTP itself cannot
 * be asked (docs/RELIABILITY.md), a relay with a message search can. DeliveriesService asks only
 * before sending again an email whose worker died mid-send. One implementation per relay, chosen
 * from the settings in MailerModule: MailpitRelayLookup (the local stack's relay). A provider that
 * searches its sent messages by Message-ID (Mailgun's events API, Postmark's outbound message
 * search…) would add one beside it.
 */
export abstract class RelayLookup {
  /**
   * The message the relay holds under the email's Message-ID, to its recipient and from keyward's
   * sender, or null when it holds none: a message that only shares the Message-ID (sent by someone
   * else, or to someone else) is not the email. Throws when the relay cannot be asked or answers
   * something else.
   */
  abstract find(email: SentEmail): Promise<RelayHeldMessage | null>;
}
