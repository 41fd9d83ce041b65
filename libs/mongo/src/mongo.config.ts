import { z } from 'zod';

export const mongoEnv = {
  MONGO_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/keyward'),
};
