/** Headers a dead-lettered message carries; its value is the original bytes, untouched. */
export const DeadLetterHeader = {
  Reason: 'x-dead-letter-reason',
  SourceTopic: 'x-source-topic',
  SourcePartition: 'x-source-partition',
  SourceOffset: 'x-source-offset',
  Consumer: 'x-consumer',
  /** On a message put back on its topic by `npm run dlq:replay`: the dead letter it came from. */
  ReplayedFrom: 'x-replayed-from',
} as const;
