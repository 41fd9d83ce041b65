import { Controller, Headers, HttpCode, Post, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RouteBodyConfig, ValidBody } from '@keyward/platform';
import { callerOf, SERVICE_TOKEN_HEADER } from '../verification/token-set';
import {
  GITHUB_REPORTS_MAX,
  GithubTokenLabelDto,
  GithubTokenReports,
  githubTokenReports,
} from './dto/github-token-reports.dto';
import { LEAK_REPORTS_MAX, LeakReportResultDto, ReportLeaksBody, reportLeaksBody } from './dto/report-leaks.dto';
import { GITHUB_KEY_ID_HEADER, GITHUB_SIGNATURE_HEADER, GithubSignatureGuard } from './github-signatures';
import { LeakReporterGuard } from './leak-reporter-tokens';
import { LeaksService } from './leaks.service';

/** GitHub's reporter name in KeyLeaked events and emails. */
export const GITHUB_REPORTER = 'GitHub secret scanning';

// Batches: GITHUB_REPORTS_MAX matches of 4 properties (room left for fields GitHub may add), and
// LEAK_REPORTS_MAX reports of 3.
const githubBodyConfig: RouteBodyConfig = {
  rawBody: true,
  bodyLimit: 1024 * 1024,
  jsonMaxProperties: 8 * GITHUB_REPORTS_MAX,
};
const reportBodyConfig: RouteBodyConfig = { bodyLimit: 64 * 1024, jsonMaxProperties: 1 + 3 * LEAK_REPORTS_MAX };

/** Reports of keyward keys found in the open: from GitHub's secret scanning, and from anyone holding a reporter token. */
@ApiTags('leaks')
@Controller('v1/leaks')
export class LeaksController {
  constructor(private readonly leaks: LeaksService) {}

  @Post('github')
  @HttpCode(200)
  @RouteConfig(githubBodyConfig)
  @UseGuards(GithubSignatureGuard)
  @ApiOperation({ summary: "GitHub secret-scanning partner endpoint: matches of keyward's key pattern" })
  @ApiHeader({ name: GITHUB_KEY_ID_HEADER, required: true, description: 'Which LEAK_SCANNER_PUBLIC_KEYS key signed' })
  @ApiHeader({
    name: GITHUB_SIGNATURE_HEADER,
    required: true,
    description: 'base64 DER ECDSA P-256 SHA-256 signature of the body',
  })
  @ApiOkResponse({ type: [GithubTokenLabelDto], description: 'One label per match, in order' })
  @ApiBadRequestResponse({ description: 'Signed, but not an array of 1 to 1000 matches' })
  @ApiUnauthorizedResponse({ description: 'Not signed by a trusted key; nothing was looked at' })
  async fromGithub(@ValidBody(githubTokenReports) matches: GithubTokenReports): Promise<GithubTokenLabelDto[]> {
    const results = await this.leaks.reportAll(
      matches.map((m) => ({ key: m.token, url: m.url ?? null, source: m.source ?? null, reporter: GITHUB_REPORTER })),
    );
    return matches.map((m, i) => ({
      token_raw: m.token,
      token_type: m.type,
      label: results[i] === 'unknown' ? 'false_positive' : 'true_positive',
    }));
  }

  @Post()
  @HttpCode(200)
  @RouteConfig(reportBodyConfig)
  @UseGuards(LeakReporterGuard)
  @ApiOperation({ summary: 'Report texts found in the open; the keyward keys among them are contained' })
  @ApiOkResponse({ type: [LeakReportResultDto], description: 'One result per report, in order' })
  @ApiBadRequestResponse({ description: 'Not 1 to 100 reports; the body names the field' })
  @ApiUnauthorizedResponse({ description: 'Missing or unknown reporter token' })
  async report(
    @ValidBody(reportLeaksBody) { reports }: ReportLeaksBody,
    @Headers(SERVICE_TOKEN_HEADER) token: string,
  ): Promise<LeakReportResultDto[]> {
    const reporter = `reporter token ${callerOf(token)}`;
    const results = await this.leaks.reportAll(
      reports.map((r) => ({ key: r.key, url: r.url ?? null, source: r.source ?? null, reporter })),
    );
    return results.map((result, index) => ({ index, result }));
  }
}
