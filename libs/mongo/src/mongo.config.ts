import { settingsOf } from '@keyward/settings';
import { z } from 'zod';

export const mongoEnv = {
  MONGO_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/keyward'),
};

/** The database settings of the service (its schema includes mongoEnv). */
export class MongoSettings extends settingsOf(z.object(mongoEnv)) {}
