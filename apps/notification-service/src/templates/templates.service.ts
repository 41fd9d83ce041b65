import { Injectable, OnModuleInit } from '@nestjs/common';
import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

type Compiled = Handlebars.TemplateDelegate;

const HTML: CompileOptions = { strict: true };
// Plain text and subjects are not HTML: escaping would turn "R&D" into "R&amp;D".
const TEXT: CompileOptions = { strict: true, noEscape: true };

/**
 * Email templates from files, compiled once at start-up: for each email `<name>.subject`,
 * `<name>.html` and `<name>.text`, wrapped in the shared layouts, with shared partials
 * (`<name>.hbs` for both variants, `<name>.html.hbs` / `<name>.text.hbs` for one).
 * HTML values are escaped by Handlebars; text and subject are not, and the subject is folded
 * onto one line so a value cannot add a header.
 */
@Injectable()
export class TemplatesService implements OnModuleInit {
  private readonly dir = __dirname;
  // Two instances, because partials compiled for HTML must escape and those for text must not.
  private readonly html = Handlebars.create();
  private readonly text = Handlebars.create();
  private readonly emails = new Map<string, { subject: Compiled; html: Compiled; text: Compiled }>();
  private layoutHtml: Compiled;
  private layoutText: Compiled;

  onModuleInit(): void {
    const read = (...parts: string[]) => readFileSync(join(this.dir, ...parts), 'utf8');
    for (const file of readdirSync(join(this.dir, 'partials'))) {
      const [name, variant] = file.replace(/\.hbs$/, '').split('.');
      const source = read('partials', file);
      if (variant !== 'text') this.html.registerPartial(name, compileNow(this.html, source, HTML));
      if (variant !== 'html') this.text.registerPartial(name, compileNow(this.text, source, TEXT));
    }
    this.layoutHtml = compileNow(this.html, read('layout.html.hbs'), HTML);
    this.layoutText = compileNow(this.text, read('layout.text.hbs'), TEXT);
    const names = new Set(readdirSync(join(this.dir, 'emails')).map((f) => f.split('.')[0]));
    for (const name of names) {
      this.emails.set(name, {
        subject: compileNow(this.text, read('emails', `${name}.subject.hbs`), TEXT),
        html: compileNow(this.html, read('emails', `${name}.html.hbs`), HTML),
        text: compileNow(this.text, read('emails', `${name}.text.hbs`), TEXT),
      });
    }
  }

  names(): string[] {
    return [...this.emails.keys()].sort();
  }

  render(name: string, context: object): RenderedEmail {
    const email = this.emails.get(name);
    if (!email) throw new Error(`no email template "${name}"`);
    const subject = oneLine(email.subject(context));
    return {
      subject,
      html: this.layoutHtml({ ...context, subject, body: email.html(context) }),
      text: this.layoutText({ ...context, body: email.text(context).trim() }),
    };
  }
}

/** Handlebars compiles on first use; doing it now makes a broken template fail start-up, not an email. */
function compileNow(env: typeof Handlebars, source: string, options: CompileOptions): Compiled {
  const compiled = env.compile(source, options);
  (compiled as unknown as { _setup(options: object): void })._setup({});
  return compiled;
}

/** Any line break or other control character in a subject becomes a space. */
function oneLine(subject: string): string {
  return subject
    .replace(/\p{Cc}|[\u2028\u2029]/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}
