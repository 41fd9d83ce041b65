import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import { NotificationSettings } from '../config/notification-service.env';

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** The delivery's Message-ID (deliveries/message-id.ts), the same on every attempt, so a repeat is recognisable downstream. */
  messageId: string;
}

/** What the SMTP server said when it took an email. */
export interface SmtpAcceptance {
  /** The Message-ID header the email went out with. */
  messageId: string;
  /** The server's reply, which names its queue id (e.g. `250 2.0.0 Ok: queued as …`). */
  response: string;
}

/** SMTP through one pooled nodemailer transport. */
@Injectable()
export class MailerService implements OnApplicationShutdown {
  private readonly transport: Transporter;
  private readonly from: string;

  constructor(settings: NotificationSettings) {
    const user = settings.SMTP_USER;
    this.transport = createTransport({
      pool: true,
      maxConnections: settings.SMTP_POOL_SIZE,
      host: settings.SMTP_HOST,
      port: settings.SMTP_PORT,
      secure: settings.SMTP_SECURE,
      requireTLS: settings.SMTP_REQUIRE_TLS,
      auth: user ? { user, pass: settings.SMTP_PASS } : undefined,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 10_000,
    });
    this.from = settings.MAIL_FROM;
  }

  /** Sends one email; resolves once the server has accepted it. */
  async send(email: OutgoingEmail): Promise<SmtpAcceptance> {
    const info = await this.transport.sendMail({ from: this.from, ...email });
    return { messageId: info.messageId as string, response: String(info.response) };
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}

/** A 5xx reply, or an address the server refuses, will not succeed on retry. */
export function isPermanentSmtpError(error: unknown): boolean {
  const e = error as { responseCode?: number; code?: string };
  return (e.responseCode !== undefined && e.responseCode >= 500) || e.code === 'EENVELOPE';
}
