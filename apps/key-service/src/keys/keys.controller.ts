import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import { UserDocument } from '../users/user.schema';
import { CreateKeyDto } from './dto/create-key.dto';
import { CreatedKeyResponse, KeyResponse } from './dto/key.response';
import { KeysService } from './keys.service';

@ApiTags('keys')
@ApiBearerAuth()
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
}
