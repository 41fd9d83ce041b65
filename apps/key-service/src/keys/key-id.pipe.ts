import { NotFoundException, PipeTransform } from '@nestjs/common';
import { canonicalKeyId } from '@keyward/contracts';

/**
 * A key id from the path, in its one canonical spelling. Any other spelling (upper case, another
 * length) is a 404 without a lookup, so only canonical ids reach events, links and logs.
 */
export class KeyIdPipe implements PipeTransform<string, string> {
  transform(id: string): string {
    if (!canonicalKeyId.safeParse(id).success) throw new NotFoundException('No such key on this account');
    return id;
  }
}
