import { DynamicModule, Injectable, Module, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { z } from 'zod';
import { objectShape } from './setting-docs';

/**
 * Builds the `validate` function for ConfigModule: parses the environment once at start-up and
 * stops the process with a message naming every missing or malformed setting.
 */
export function validateEnv<S extends z.ZodTypeAny>(schema: S) {
  return (env: Record<string, unknown>): z.infer<S> => {
    const result = schema.safeParse(env);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
      throw new Error(`Invalid configuration:\n${problems}`);
    }
    return result.data;
  };
}

/**
 * The base class of a service's settings: one typed, read-only object holding what its schema
 * validated at start-up (ConfigModule's validate), so code reads `settings.REMINDER_SCAN_CRON`
 * instead of looking a string up. A library declares the part it reads the same way (its schema
 * fragment, which every service's schema includes): `KafkaSettings`, `MongoSettings`, ….
 *
 *   export class SchedulerSettings extends settingsOf(schedulerServiceEnv) {}
 *   imports: [SettingsModule.register(SchedulerSettings)]
 */
export function settingsOf<S extends z.ZodTypeAny>(schema: S): Type<Readonly<z.infer<S>>> {
  @Injectable()
  class Settings {
    constructor(config: ConfigService) {
      for (const name of Object.keys(objectShape(schema)))
        Object.defineProperty(this, name, { value: config.get(name), enumerable: true });
    }
  }
  return Settings as Type<Readonly<z.infer<S>>>;
}

/**
 * Makes settings classes injectable: a service's own everywhere in it (`register`), a library's
 * (a settingsOf of the part of the environment it reads) where the library imports it (`forFeature`).
 */
@Module({})
export class SettingsModule {
  static register(settings: Type): DynamicModule {
    return { module: SettingsModule, global: true, providers: [settings], exports: [settings] };
  }

  static forFeature(...settings: Type[]): DynamicModule {
    return { module: SettingsModule, providers: settings, exports: settings };
  }
}
