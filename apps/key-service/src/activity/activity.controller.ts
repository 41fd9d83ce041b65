import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { canonicalKeyId } from '@keyward/contracts';
import { InvalidFieldsException, ValidQuery } from '@keyward/platform';
import { z } from 'zod';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import { UserDocument } from '../users/user.schema';
import { ActivityCursor, ActivityRepository } from './activity.repository';
import { ActivityEntryResponse, ActivityPageResponse } from './dto/activity.response';

export const ACTIVITY_PAGE_SIZE = 50;
const ACTIVITY_PAGE_MAX = 200;

const activityQuery = z
  .object({
    keyId: canonicalKeyId.optional().describe('Only this key’s activity'),
    cursor: z.string().max(200, 'is not a cursor from this API').optional().describe('nextCursor of the previous page'),
    limit: z.coerce
      .number()
      .int('must be a whole number')
      .min(1, `must be 1 to ${ACTIVITY_PAGE_MAX}`)
      .max(ACTIVITY_PAGE_MAX, `must be 1 to ${ACTIVITY_PAGE_MAX}`)
      .default(ACTIVITY_PAGE_SIZE)
      .describe('Entries per page'),
  })
  .strict();

/** An account's key activity, newest first; another account's key id simply has none. */
@ApiTags('activity')
@UseGuards(SessionGuard)
@Controller('v1/activity')
export class ActivityController {
  constructor(private readonly activity: ActivityRepository) {}

  @Get()
  @ApiOkResponse({ type: ActivityPageResponse })
  @ApiBadRequestResponse({ description: 'A keyId or cursor that is not one; the body names the field' })
  async list(
    @CurrentUser() user: UserDocument,
    @ValidQuery(activityQuery) query: z.output<typeof activityQuery>,
  ): Promise<ActivityPageResponse> {
    const { keyId, cursor, limit } = query;
    const entries = await this.activity.page(
      user.id as string,
      keyId,
      cursor === undefined ? undefined : decodeCursor(cursor),
      limit + 1,
    );
    const page = entries.slice(0, limit);
    const last = page[page.length - 1];
    return {
      entries: page.map((e) => ActivityEntryResponse.from(e)),
      nextCursor: entries.length > limit ? encodeCursor({ at: last.at, id: last._id }) : null,
    };
  }
}

function encodeCursor({ at, id }: ActivityCursor): string {
  return Buffer.from(`${at.getTime()}.${id}`).toString('base64url');
}

function decodeCursor(cursor: string): ActivityCursor {
  const match = /^(\d{1,15})\.([\w:.-]{1,80})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidFieldsException([{ field: 'cursor', message: 'cursor is not a cursor from this API' }]);
  return { at: new Date(Number(match[1])), id: match[2] };
}
