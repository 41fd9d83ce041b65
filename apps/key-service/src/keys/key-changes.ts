import { Injectable } from '@nestjs/common';

/**
 * In-process signal that a key's verification may have changed (revoked, rotated, expired,
 * contacts replaced). The key event carries the same news to every instance through Kafka; this
 * tells the instance that made the change at once, without waiting for the relay.
 */
@Injectable()
export class KeyChanges {
  private readonly listeners: ((keyId: string) => void)[] = [];

  onChange(listener: (keyId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Call after the change is written. */
  changed(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
  }
}
