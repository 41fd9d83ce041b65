/**
 * Renders every email with sample data to emails-preview/<name>.html and .txt, for a person to
 * look at (`npm run emails:preview`). The text file starts with the Subject line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmailsService } from '../src/emails/emails.service';
import { SAMPLE_SEALING_KEY, sampleMessages } from '../src/emails/sample-messages';
import { TemplatesService } from '../src/templates/templates.service';
import { NotificationSettings } from '../src/config/notification-service.env';

const out = join(process.cwd(), 'emails-preview');
const templates = new TemplatesService();
templates.onModuleInit();
const settings = {
  WEB_APP_URL: 'http://127.0.0.1:3000',
  LOGIN_CODE_SEALING_KEY: SAMPLE_SEALING_KEY,
} as NotificationSettings;
const emails = new EmailsService(templates, settings);

mkdirSync(out, { recursive: true });
const written: string[] = [];
for (const [name, message] of Object.entries(sampleMessages())) {
  const recipients = emails.recipients(message);
  // One file per distinct reason (a contacts change reads differently to removed and added contacts).
  const variants = recipients.filter((r, i) => recipients.findIndex((o) => o.reason === r.reason) === i);
  for (const recipient of variants) {
    const file = variants.length > 1 ? `${name}-${recipient.address.split('@')[0]}` : name;
    const email = emails.compose(message, recipient.address);
    writeFileSync(join(out, `${file}.html`), email.html);
    writeFileSync(join(out, `${file}.txt`), `Subject: ${email.subject}\nTo: ${recipient.address}\n\n${email.text}`);
    written.push(file);
  }
}
console.log(`wrote ${written.length} emails to ${out}/: ${written.join(', ')}`);
