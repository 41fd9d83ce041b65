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

/**
 * Email templates from files, compiled once at start-up: for each email `<name>.subject`,
 * `<name>.html` and `<name>.text`, wrapped in the shared layouts, with shared partials.
 * HTML is escaped by Handlebars; the text and subject variants are rendered without HTML
 * escaping and stripped of line breaks in the subject so a value cannot add headers.
 */
@Injectable()
export class TemplatesService implements OnModuleInit {
  private readonly dir = join(__dirname);
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
      if (variant !== 'text') this.html.registerPartial(name, source);
      if (variant !== 'html') this.text.registerPartial(name, source);
    }
    this.layoutHtml = this.html.compile(read('layout.html.hbs'), {
      strict: true,
    });
    this.layoutText = this.text.compile(read('layout.text.hbs'), {
      strict: true,
      noEscape: true,
    });
    const names = new Set(readdirSync(join(this.dir, 'emails')).map((f) => f.split('.')[0]));
    for (const name of names) {
      this.emails.set(name, {
        subject: this.text.compile(read('emails', `${name}.subject.hbs`), {
          strict: true,
          noEscape: true,
        }),
        html: this.html.compile(read('emails', `${name}.html.hbs`), {
          strict: true,
        }),
        text: this.text.compile(read('emails', `${name}.text.hbs`), {
          strict: true,
          noEscape: true,
        }),
      });
    }
  }

  has(name: string): boolean {
    return this.emails.has(name);
  }

  render(name: string, context: object): RenderedEmail {
    const email = this.emails.get(name);
    if (!email) throw new Error(`no email template "${name}"`);
    const subject = email
      .subject(context)
      .replace(/[\r\n]+/g, ' ')
      .trim();
    return {
      subject,
      html: this.layoutHtml({ ...context, subject, body: email.html(context) }),
      text: this.layoutText({ ...context, body: email.text(context).trim() }),
    };
  }
}
