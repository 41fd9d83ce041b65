import { ApiProperty } from '@nestjs/swagger';
import { z } from 'zod';
import { KEY_MAX_LENGTH } from '../../verification/verify-key.request';

export const LEAK_REPORTS_MAX = 100;
export const LEAK_URL_MAX_LENGTH = 2048;
export const LEAK_SOURCE_MAX_LENGTH = 100;
export const LEAK_RESULTS = ['revoked', 'reported', 'already_revoked', 'expired', 'unknown'] as const;

/** Where a text was found, as a reporter describes it (both optional, both only ever shown as text). */
export const leakLocation = {
  url: z
    .string()
    .max(LEAK_URL_MAX_LENGTH, `must be at most ${LEAK_URL_MAX_LENGTH} characters`)
    .optional()
    .describe('Where it was found (shown to the key’s people as text)'),
  source: z
    .string()
    .max(LEAK_SOURCE_MAX_LENGTH, `must be at most ${LEAK_SOURCE_MAX_LENGTH} characters`)
    .optional()
    .describe('What kind of place it was found in, e.g. `commit`, `pull_request_comment`, `npm`'),
};

export const reportLeaksBody = z
  .object({
    reports: z
      .array(
        z
          .object({
            key: z
              .string()
              .max(KEY_MAX_LENGTH, `must be at most ${KEY_MAX_LENGTH} characters`)
              .describe('The text found; a keyward key looks like `username_v1_…`'),
            ...leakLocation,
          })
          .strict(),
      )
      .min(1, 'must hold at least one report')
      .max(LEAK_REPORTS_MAX, `must hold at most ${LEAK_REPORTS_MAX} reports`),
  })
  .strict();
export type ReportLeaksBody = z.output<typeof reportLeaksBody>;

export class LeakReportResultDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Position of the report in the request' })
  index: number;
  @ApiProperty({
    enum: LEAK_RESULTS,
    description:
      '`revoked`: a working key, revoked now; `reported`: a working key set to notify only (its people were told once); `already_revoked`, `expired`: it no longer worked; `unknown`: not a keyward key',
  })
  result: (typeof LEAK_RESULTS)[number];
}
