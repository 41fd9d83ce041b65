import mongoose from 'mongoose';
import { randomBytes } from 'node:crypto';
import { CsrfTokens } from '../../apps/key-service/src/auth/csrf-tokens';
import { hashToken } from '../../apps/key-service/src/auth/sessions.repository';
import { KeyServiceSettings } from '../../apps/key-service/src/config/key-service.env';
import { KeyHasher } from '../../apps/key-service/src/hashing/key-hasher';
import { usernameFromEmail } from '../../apps/key-service/src/users/username';

/**
 * Logs a user in by writing the account and a session straight into key-service's database,
 * as the login flow would. Returns the bearer token. `validForMs` lets a test whose key-service
 * runs on a moved clock keep its session.
 */
export async function loggedInUser(mongoUri: string, email: string, validForMs = 3_600_000): Promise<string> {
  const db = await mongoose.createConnection(mongoUri).asPromise();
  try {
    const now = new Date();
    const { insertedId } = await db.collection('users').insertOne({
      email,
      username: usernameFromEmail(email),
      timeZone: 'Asia/Singapore',
      createdAt: now,
    });
    const token = randomBytes(32).toString('base64url');
    await db.collection<{ _id: string; userId: string; createdAt: Date; expiresAt: Date }>('sessions').insertOne({
      _id: hashToken(token),
      userId: insertedId.toHexString(),
      createdAt: now,
      expiresAt: new Date(now.getTime() + validForMs),
    });
    return token;
  } finally {
    await db.close();
  }
}

/** The CSRF token key-service gives a session at login: a keyed hash of its token (see CsrfTokens). */
export function csrfTokenFor(sessionToken: string, keyHashSecret: string): string {
  return new CsrfTokens(new KeyHasher({ KEY_HASH_SECRET: keyHashSecret } as KeyServiceSettings)).of(sessionToken);
}
