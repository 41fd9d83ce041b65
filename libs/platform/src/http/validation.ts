import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError, InvalidFieldsException } from './problem-details.filter';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message,
    }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Validates every body and query against its DTO; unknown fields are rejected, errors name the field. */
export const validationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new InvalidFieldsException(flatten(errors)),
  });
