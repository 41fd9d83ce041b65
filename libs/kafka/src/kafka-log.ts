import { Logger } from '@nestjs/common';
import { logLevel, LogEntry } from 'kafkajs';

/**
 * What a broker answers while it is still electing partition leaders or loading its group
 * coordinator (every fresh start): kafkajs retries these by itself, so they are not errors.
 */
const BROKER_SETTLING = [
  /coordinator is not available/i,
  /coordinator is loading/i,
  /leadership election/i,
  /no leader for this topic-partition/i,
  /does not host this topic-partition/i,
  /topic creation errors/i,
];

const RESTARTING = /^Restarting the consumer in \d+ms/;

// Shared by every client of the process, so each kind is reported once per process.
const settlingSeen = new Set<RegExp>();

/**
 * The level a kafkajs line gets in our logs: a broker still settling is a warning the first time
 * each kind is seen and debug afterwards; the rest keep kafkajs's level.
 */
export function kafkaLogLevel(level: logLevel, line: string): 'error' | 'warn' | 'log' | 'debug' {
  // The consequence of a consumer crash, logged after the crash itself, which carries its real level.
  if (level === logLevel.ERROR && RESTARTING.test(line)) return 'warn';
  const settling = level <= logLevel.WARN ? BROKER_SETTLING.find((pattern) => pattern.test(line)) : undefined;
  if (settling) {
    if (settlingSeen.has(settling)) return 'debug';
    settlingSeen.add(settling);
    return 'warn';
  }
  if (level === logLevel.ERROR) return 'error';
  if (level === logLevel.WARN) return 'warn';
  if (level === logLevel.INFO) return 'log';
  return 'debug';
}

/** Routes kafkajs's own logs through the service's logger. */
export const kafkaLogCreator = () => {
  const logger = new Logger('kafkajs');
  return ({ level, log }: LogEntry) => {
    const { message, ...extra } = log;
    const line = `${message} ${JSON.stringify(extra)}`;
    logger[kafkaLogLevel(level, line)](line);
  };
};
