import { ApiProperty } from '@nestjs/swagger';
import { z } from 'zod';
import { leakLocation } from './report-leaks.dto';

/** GitHub may send many matches at once; more than this in one request is refused whole (400). */
export const GITHUB_REPORTS_MAX = 1000;
/** A GitHub match may be any text its pattern caught; longer than any keyward key needs. */
const TOKEN_MAX_LENGTH = 1000;

/** GitHub's secret-scanning payload: matches of keyward's key pattern. Fields GitHub may add are ignored. */
export const githubTokenReports = z
  .array(
    z.object({
      token: z
        .string()
        .max(TOKEN_MAX_LENGTH, `must be at most ${TOKEN_MAX_LENGTH} characters`)
        .describe('The text that matched'),
      type: z.string().max(100, 'must be at most 100 characters').describe('The pattern name agreed with GitHub'),
      ...leakLocation,
    }),
  )
  .min(1, 'must hold at least one match')
  .max(GITHUB_REPORTS_MAX, `must hold at most ${GITHUB_REPORTS_MAX} matches`);
export type GithubTokenReports = z.output<typeof githubTokenReports>;

export const GITHUB_LABELS = ['true_positive', 'false_positive'] as const;

/** GitHub's feedback format: was each match a real keyward key? */
export class GithubTokenLabelDto {
  @ApiProperty() token_raw: string;
  @ApiProperty() token_type: string;
  @ApiProperty({
    enum: GITHUB_LABELS,
    description: '`true_positive`: a keyward key (working, revoked or expired); `false_positive`: not one',
  })
  label: (typeof GITHUB_LABELS)[number];
}
