import { ConflictException } from '@nestjs/common';

/** Compare-and-set attempts before a change that keeps losing to concurrent writes gives up with 409. */
export const MAX_ATTEMPTS = 5;

export const changedMeanwhile = () =>
  new ConflictException('This key changed while we were updating it; please try again');

export const labelTaken = (label: string) => {
  const message = `The label "${label}" is already used by another key on this account`;
  // Names the field, so a form can show the message beside the label input.
  return new ConflictException({ message, errors: [{ field: 'label', message }] });
};
