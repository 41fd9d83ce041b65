import { Module } from '@nestjs/common';
import { WebController } from './web.controller';

/** The Settings web app, served at / and /settings on top of the JSON API (assets: serveWebAssets). */
@Module({ controllers: [WebController] })
export class WebModule {}
