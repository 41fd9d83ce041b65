import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { KeyHasher } from '../hashing/key-hasher';

/**
 * The CSRF token of a session: a keyed hash of its session token, so only this service can make
 * one, and a token read or planted from another session (say, through a sibling subdomain's
 * cookie) is worth nothing in this one.
 */
@Injectable()
export class CsrfTokens {
  constructor(private readonly hasher: KeyHasher) {}

  of(sessionToken: string): string {
    return this.hasher.hash(`csrf:${sessionToken}`);
  }

  matches(sessionToken: string, given: unknown): boolean {
    const expected = Buffer.from(this.of(sessionToken));
    const actual = Buffer.from(typeof given === 'string' ? given : '');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
