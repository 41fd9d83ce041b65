import { DynamicModule, Injectable, Module, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { z } from 'zod';

/** The object schema under a service's refinements (`z.object(...).refine(...)`). */
function objectShape(schema: z.ZodTypeAny): z.ZodRawShape {
  if (schema instanceof z.ZodObject) return schema.shape as z.ZodRawShape;
  if (schema instanceof z.ZodEffects) return objectShape(schema.innerType());
  throw new Error('settings schema must be a z.object, optionally refined');
}

/**
 * The base class of a service's settings: one typed, read-only object holding what its schema
 * validated at start-up (ConfigModule's validate), so code reads `settings.REMINDER_SCAN_CRON`
 * instead of looking a string up.
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

/** Makes a service's settings class injectable everywhere in it. */
@Module({})
export class SettingsModule {
  static register(settings: Type): DynamicModule {
    return { module: SettingsModule, global: true, providers: [settings], exports: [settings] };
  }
}
