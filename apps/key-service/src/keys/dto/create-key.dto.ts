import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsEmail, IsString, Length, Matches } from 'class-validator';

export const LABEL_MAX_LENGTH = 64;
export const CONTACTS_MAX = 10;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** Lowercased, trimmed and deduplicated, so `A@x.io` and `a@x.io ` are one contact. */
export const normalizeContacts = ({ value }: { value: unknown }) =>
  Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? [...new Set(value.map((v: string) => v.trim().toLowerCase()))]
    : value;

export class ContactsDto {
  @ApiProperty({
    type: [String],
    example: ['ops@example.com'],
    description: `1 to ${CONTACTS_MAX} emails`,
  })
  @Transform(normalizeContacts)
  @IsArray({ message: 'contacts must be a list of email addresses' })
  @ArrayMinSize(1, { message: 'contacts must hold at least one email address' })
  @ArrayMaxSize(CONTACTS_MAX, {
    message: `contacts can hold at most ${CONTACTS_MAX} email addresses`,
  })
  @IsEmail(
    {},
    {
      each: true,
      message: 'contacts must hold only valid email addresses ($value is not)',
    },
  )
  contacts: string[];
}

export class CreateKeyDto extends ContactsDto {
  @ApiProperty({
    example: 'production',
    description: 'Permanent; unique on the account',
  })
  @Transform(trim)
  @IsString({ message: 'label must be text' })
  @Length(1, LABEL_MAX_LENGTH, {
    message: `label must be 1 to ${LABEL_MAX_LENGTH} characters`,
  })
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]*$/, {
    message: 'label must not contain control characters or line breaks',
  })
  label: string;
}
