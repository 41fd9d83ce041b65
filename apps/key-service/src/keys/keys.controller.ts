import {
  applyDecorators,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ValidBody } from '@keyward/platform';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import { RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { RateLimited } from '../rate-limits/rate-limits';
import { UserDocument } from '../users/user.schema';
import { ContactsBody, contactsBody, CreateKeyBody, createKeyBody } from './dto/create-key.dto';
import { CreatedKeyResponse, KeyResponse } from './dto/key.response';
import { RotateKeyBody, rotateKeyBody } from './dto/rotate-key.dto';
import { UpdateKeyBody, updateKeyBody } from './dto/update-key.dto';
import { KeyCreation } from './key-creation.service';
import { KeyIdPipe } from './key-id.pipe';
import { KeyRevocation } from './key-revocation.service';
import { KeyRotation } from './key-rotation.service';
import { KeysService } from './keys.service';
import { RequestOriginInterceptor } from './request-origin';

const NoSuchKey = () =>
  ApiNotFoundResponse({ description: 'No such key on this account, or an id not spelled as 24 lower-case hex digits' });

/** A change to a key: counted per account, 429 past the hour's budget. */
const KeyChange = () =>
  applyDecorators(
    RateLimited('key-changes'),
    ApiTooManyRequestsResponse({
      description: 'This account made KEY_CHANGES_PER_HOUR changes this hour; see Retry-After',
    }),
  );

@ApiTags('keys')
@UseGuards(SessionGuard, RateLimitGuard)
@UseInterceptors(RequestOriginInterceptor)
@Controller('v1/keys')
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly creation: KeyCreation,
    private readonly rotation: KeyRotation,
    private readonly revocation: KeyRevocation,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({
    type: CreatedKeyResponse,
    description: 'The only response that holds the key',
  })
  @ApiBadRequestResponse({ description: 'Invalid label or contacts; the body names the field' })
  @ApiConflictResponse({
    description: 'Label already used, or too many active keys',
  })
  @KeyChange()
  create(
    @CurrentUser() user: UserDocument,
    @ValidBody(createKeyBody) body: CreateKeyBody,
  ): Promise<CreatedKeyResponse> {
    return this.creation.create(user, body);
  }

  @Get()
  @ApiOkResponse({ type: [KeyResponse] })
  list(@CurrentUser() user: UserDocument): Promise<KeyResponse[]> {
    return this.keys.list(user);
  }

  @Get(':id')
  @ApiOkResponse({ type: KeyResponse })
  @NoSuchKey()
  get(@CurrentUser() user: UserDocument, @Param('id', KeyIdPipe) id: string): Promise<KeyResponse> {
    return this.keys.get(user, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: KeyResponse, description: 'The key with its settings changed' })
  @ApiBadRequestResponse({ description: 'Invalid leakResponse; the body names the field' })
  @NoSuchKey()
  update(
    @CurrentUser() user: UserDocument,
    @Param('id', KeyIdPipe) id: string,
    @ValidBody(updateKeyBody) body: UpdateKeyBody,
  ): Promise<KeyResponse> {
    return this.keys.setLeakResponse(user, id, body.leakResponse);
  }

  @Put(':id/contacts')
  @ApiOkResponse({ type: KeyResponse, description: 'Replaced; an unchanged set emits no event' })
  @ApiBadRequestResponse({ description: 'Invalid contacts; the body names the field' })
  @NoSuchKey()
  @ApiConflictResponse({ description: 'The key is revoked' })
  @KeyChange()
  replaceContacts(
    @CurrentUser() user: UserDocument,
    @Param('id', KeyIdPipe) id: string,
    @ValidBody(contactsBody) body: ContactsBody,
  ): Promise<KeyResponse> {
    return this.keys.replaceContacts(user, id, body.contacts);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked at once; revoking a revoked or expired key again is a no-op' })
  @KeyChange()
  @NoSuchKey()
  revoke(@CurrentUser() user: UserDocument, @Param('id', KeyIdPipe) id: string): Promise<void> {
    return this.revocation.revoke(user, id);
  }

  @Post(':id/rotate')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: CreatedKeyResponse,
    description: 'The new key (shown once); the old one works until the grace period ends',
  })
  @ApiBadRequestResponse({ description: 'Invalid graceHours or label; the body names the field' })
  @NoSuchKey()
  @ApiConflictResponse({
    description: 'The key is revoked, expired or already rotated; the label is taken; or too many active keys',
  })
  @KeyChange()
  rotate(
    @CurrentUser() user: UserDocument,
    @Param('id', KeyIdPipe) id: string,
    @ValidBody(rotateKeyBody) body: RotateKeyBody,
  ): Promise<CreatedKeyResponse> {
    return this.rotation.rotate(user, id, body);
  }
}
