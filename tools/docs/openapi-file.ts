import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { join, resolve } from 'node:path';
import { format } from 'prettier';

export const OPENAPI_FILE = join(resolve(__dirname, '../../..'), 'docs', 'openapi.json');

/**
 * docs/openapi.json as key-service serves it at /docs-json: its modules in preview mode (nothing
 * connects, nothing starts), read with the development settings.
 */
export async function openApiJson(): Promise<string> {
  // The document does not depend on the mode; the schemas' production checks would refuse the development secrets.
  process.env.NODE_ENV ??= 'development';
  const [{ KeyServiceModule }, { keyServiceOpenApi }] = await Promise.all([
    import('../../apps/key-service/src/app.module'),
    import('../../apps/key-service/src/openapi'),
  ]);
  const app = await NestFactory.create<NestFastifyApplication>(KeyServiceModule, new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    return await format(JSON.stringify(keyServiceOpenApi(app)), { parser: 'json', printWidth: 120 });
  } finally {
    await app.close();
  }
}
