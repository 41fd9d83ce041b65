import fastifyStatic from '@fastify/static';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { join } from 'node:path';
import { WEB_SECURITY_HEADERS } from './security-headers';

/** The browser app's built files (public/ is compiled to ES modules by its own .swcrc). */
export const WEB_PUBLIC_DIR = join(__dirname, 'public');

/** Only the app's scripts, styles and icon: not its specs, package.json or tsconfig. */
const ASSET = /^\/[a-z-]+\.(js|css|svg)$/;
const isAsset = (path: string) => ASSET.test(path) && !path.endsWith('.spec.js');

/** Serves the web app's assets under /assets/; the pages themselves come from WebController. */
export async function serveWebAssets(app: NestFastifyApplication): Promise<void> {
  await app.register(fastifyStatic, {
    root: WEB_PUBLIC_DIR,
    prefix: '/assets/',
    index: false,
    allowedPath: isAsset,
    // Small files revalidated by ETag on each load, so a deploy shows at once.
    cacheControl: true,
    maxAge: 0,
    setHeaders: (reply) => void reply.headers(WEB_SECURITY_HEADERS),
  });
}
