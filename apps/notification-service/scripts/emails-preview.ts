/**
 * Renders every email with sample data to emails-preview/<name>.html and .txt, for a person to
 * look at (`npm run emails:preview`). The text file starts with the Subject line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleEmails, sampleMessages } from '../src/emails/sample-messages';

const out = join(process.cwd(), 'emails-preview');
const emails = sampleEmails();

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
