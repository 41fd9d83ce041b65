import { settingsOf } from '@keyward/settings';
import { z } from 'zod';

export const mongoEnv = {
  MONGO_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/keyward')
    .describe('The service’s database (scheduler-service reads key-service’s and never writes it)'),
};

/** The database settings of the service (its schema includes mongoEnv). */
export class MongoSettings extends settingsOf(z.object(mongoEnv)) {}
