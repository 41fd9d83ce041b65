import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsEmail,
  isEmail,
  IsString,
  Length,
  Matches,
  ValidationArguments,
} from 'class-validator';
import { normalizeContacts } from '../contacts';
import { LABEL_MAX_LENGTH, LABEL_PATTERN } from '../labels';

export const CONTACTS_MAX = 10;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** Names the bad entries (class-validator fills `$value` only for single values, not lists). */
const invalidContacts = ({ value }: ValidationArguments) => {
  const bad = Array.isArray(value) ? value.filter((v) => typeof v !== 'string' || !isEmail(v)).map(String) : [];
  return `contacts must hold only valid email addresses (${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} not)`;
};
const normalizeContactList = ({ value }: { value: unknown }) =>
  Array.isArray(value) && value.every((v) => typeof v === 'string') ? normalizeContacts(value) : value;

/** The label rules, shared by creating and rotating a key. */
export const IsKeyLabel = () =>
  applyDecorators(
    Transform(trim),
    IsString({ message: 'label must be text' }),
    Length(1, LABEL_MAX_LENGTH, {
      message: `label must be 1 to ${LABEL_MAX_LENGTH} characters`,
    }),
    Matches(LABEL_PATTERN, {
      message: 'label must not contain control characters or line breaks',
    }),
  );

export class ContactsDto {
  @ApiProperty({
    type: [String],
    example: ['ops@example.com'],
    description: `1 to ${CONTACTS_MAX} emails`,
  })
  @Transform(normalizeContactList)
  @IsArray({ message: 'contacts must be a list of email addresses' })
  @ArrayMinSize(1, { message: 'contacts must hold at least one email address' })
  @ArrayMaxSize(CONTACTS_MAX, {
    message: `contacts can hold at most ${CONTACTS_MAX} email addresses`,
  })
  @IsEmail(
    {},
    {
      each: true,
      message: invalidContacts,
    },
  )
  contacts: string[];
}

export class CreateKeyDto extends ContactsDto {
  @ApiProperty({
    example: 'production',
    description: 'Permanent; unique on the account',
  })
  @IsKeyLabel()
  label: string;
}
