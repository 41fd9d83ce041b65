import { emailAddress } from '@keyward/contracts';
import { z } from 'zod';

/** An email address as keyward stores it: trimmed and lower-cased, so `A@x.io ` and `a@x.io` are one. */
export const normalizeEmail = (address: string): string => address.trim().toLowerCase();

/** An email address from outside (a request, an import file): normalized, then held to the contracts' rule. */
export const givenEmailAddress = z.preprocess(
  (value) => (typeof value === 'string' ? normalizeEmail(value) : value),
  emailAddress,
);
