import { DynamicModule, Module } from '@nestjs/common';
import { KEY_CLIENT_OPTIONS, KeyClientOptions } from './key-client.options';
import { KeyClient } from './key-client';

/**
 * Key verification for internal services: import `KeyClientModule.register({...})` (or
 * `registerAsync` to read them from the app's settings) and inject `KeyClient`. Needs the app's
 * ConfigModule and KafkaModule, as every keyward service has.
 */
@Module({})
export class KeyClientModule {
  static register(options: KeyClientOptions): DynamicModule {
    return {
      module: KeyClientModule,
      providers: [{ provide: KEY_CLIENT_OPTIONS, useValue: options }, KeyClient],
      exports: [KeyClient],
    };
  }

  static registerAsync(options: {
    inject?: unknown[];
    useFactory: (...args: never[]) => KeyClientOptions | Promise<KeyClientOptions>;
  }): DynamicModule {
    return {
      module: KeyClientModule,
      providers: [
        { provide: KEY_CLIENT_OPTIONS, inject: options.inject as never[], useFactory: options.useFactory },
        KeyClient,
      ],
      exports: [KeyClient],
    };
  }
}
