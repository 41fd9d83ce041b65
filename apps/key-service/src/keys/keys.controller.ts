import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import { UserDocument } from '../users/user.schema';
import { ContactsDto, CreateKeyDto } from './dto/create-key.dto';
import { CreatedKeyResponse, KeyResponse } from './dto/key.response';
import { RotateKeyDto } from './dto/rotate-key.dto';
import { UpdateKeyDto } from './dto/update-key.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid session' })
@UseGuards(SessionGuard)
@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

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
  create(@CurrentUser() user: UserDocument, @Body() body: CreateKeyDto): Promise<CreatedKeyResponse> {
    return this.keys.create(user, body);
  }

  @Get()
  @ApiOkResponse({ type: [KeyResponse] })
  list(@CurrentUser() user: UserDocument): Promise<KeyResponse[]> {
    return this.keys.list(user);
  }

  @Get(':id')
  @ApiOkResponse({ type: KeyResponse })
  @ApiNotFoundResponse({ description: 'No such key on this account' })
  get(@CurrentUser() user: UserDocument, @Param('id') id: string): Promise<KeyResponse> {
    return this.keys.get(user, id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: KeyResponse, description: 'The key with its settings changed' })
  @ApiBadRequestResponse({ description: 'Invalid leakResponse; the body names the field' })
  @ApiNotFoundResponse({ description: 'No such key on this account' })
  update(@CurrentUser() user: UserDocument, @Param('id') id: string, @Body() body: UpdateKeyDto): Promise<KeyResponse> {
    return this.keys.setLeakResponse(user, id, body.leakResponse);
  }

  @Put(':id/contacts')
  @ApiOkResponse({ type: KeyResponse, description: 'Replaced; an unchanged set emits no event' })
  @ApiBadRequestResponse({ description: 'Invalid contacts; the body names the field' })
  @ApiNotFoundResponse({ description: 'No such key on this account' })
  @ApiConflictResponse({ description: 'The key is revoked' })
  replaceContacts(
    @CurrentUser() user: UserDocument,
    @Param('id') id: string,
    @Body() body: ContactsDto,
  ): Promise<KeyResponse> {
    return this.keys.replaceContacts(user, id, body.contacts);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked at once; revoking a revoked or expired key again is a no-op' })
  @ApiNotFoundResponse({ description: 'No such key on this account' })
  revoke(@CurrentUser() user: UserDocument, @Param('id') id: string): Promise<void> {
    return this.keys.revoke(user, id);
  }

  @Post(':id/rotate')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: CreatedKeyResponse,
    description: 'The new key (shown once); the old one works until the grace period ends',
  })
  @ApiBadRequestResponse({ description: 'Invalid graceHours or label; the body names the field' })
  @ApiNotFoundResponse({ description: 'No such key on this account' })
  @ApiConflictResponse({
    description: 'The key is revoked, expired or already rotated; the label is taken; or too many active keys',
  })
  rotate(
    @CurrentUser() user: UserDocument,
    @Param('id') id: string,
    @Body() body: RotateKeyDto,
  ): Promise<CreatedKeyResponse> {
    return this.keys.rotate(user, id, body);
  }
}
