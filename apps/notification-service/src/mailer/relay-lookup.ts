/** An email the SMTP relay holds, as its message search reports it. */
export interface RelayHeldMessage {
  /** What the relay said about it, recorded with the send in place of an SMTP reply. */
  evidence: string;
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
   * The message the relay holds under `messageId` (with its angle brackets), or null when it holds
   * none; throws when the relay cannot be asked or answers something else.
   */
  abstract find(messageId: string): Promise<RelayHeldMessage | null>;
}
