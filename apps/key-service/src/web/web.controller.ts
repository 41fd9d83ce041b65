import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEB_PUBLIC_DIR } from './web-assets';
import { WEB_SECURITY_HEADERS } from './security-headers';

/** The Settings web app's one page; the browser code decides between login and Settings. */
@ApiExcludeController()
@Controller()
export class WebController {
  private readonly page = readFileSync(join(WEB_PUBLIC_DIR, 'index.html'));

  @Get(['/', 'settings'])
  show(@Res() reply: FastifyReply): void {
    void reply
      .headers({ ...WEB_SECURITY_HEADERS, 'cache-control': 'no-cache' })
      .type('text/html; charset=utf-8')
      .send(this.page);
  }
}
