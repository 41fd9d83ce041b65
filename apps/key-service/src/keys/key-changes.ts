import { Injectable } from '@nestjs/common';

/** A working key just written: what verification answers for it. */
export interface CreatedKey {
  id: string;
  hash: string;
  ownerId: string;
  label: string;
  expiresAt: Date;
}

/**
 * In-process signal that a key's verification may have changed (revoked, rotated, expired,
 * contacts replaced), or that a key was created. The key event carries the same news to every
 * instance through Kafka; this tells the instance that made the change at once, without waiting
 * for the relay.
 */
@Injectable()
export class KeyChanges {
  private readonly listeners: ((keyId: string) => void)[] = [];
  private readonly creationListeners: ((key: CreatedKey) => void)[] = [];

  onChange(listener: (keyId: string) => void): void {
    this.listeners.push(listener);
  }

  onCreated(listener: (key: CreatedKey) => void): void {
    this.creationListeners.push(listener);
  }

  /** Call after the change is written. */
  changed(keyId: string): void {
    for (const listener of this.listeners) listener(keyId);
  }

  /** Call after a new working key is written, before its text is handed out. */
  created(key: CreatedKey): void {
    for (const listener of this.creationListeners) listener(key);
  }
}
