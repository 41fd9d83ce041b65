import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLevel } from 'kafkajs';
import { kafkaLogLevel } from './kafka-log';

describe('kafkaLogLevel', () => {
  it('reports a broker still electing once, as a warning, then at debug', () => {
    const line = 'Response GroupCoordinator(key: 10, version: 2) {"error":"The group coordinator is not available"}';
    assert.equal(kafkaLogLevel(logLevel.ERROR, line), 'warn');
    assert.equal(kafkaLogLevel(logLevel.ERROR, line), 'debug');
    // Another kind of settling answer gets its own first warning.
    assert.equal(kafkaLogLevel(logLevel.ERROR, 'Topic creation errors {"topicErrors":[]}'), 'warn');
  });

  it('reports the restart after a crash as a warning: the crash line says how bad it was', () => {
    const restart = 'Restarting the consumer in 100ms {"retryTime":100,"groupId":"key-service-activity"}';
    assert.equal(kafkaLogLevel(logLevel.ERROR, restart), 'warn');
    assert.equal(kafkaLogLevel(logLevel.ERROR, 'Crash: KafkaJSNonRetriableError: boom {}'), 'error');
  });

  it('keeps kafkajs levels for everything else', () => {
    assert.equal(kafkaLogLevel(logLevel.ERROR, 'Connection error: read ECONNRESET {}'), 'error');
    assert.equal(kafkaLogLevel(logLevel.ERROR, 'Connection error: read ECONNRESET {}'), 'error');
    assert.equal(kafkaLogLevel(logLevel.WARN, 'KafkaJS v2.0.0 switched default partitioner {}'), 'warn');
    assert.equal(kafkaLogLevel(logLevel.INFO, 'Consumer has joined the group {}'), 'log');
    assert.equal(kafkaLogLevel(logLevel.DEBUG, 'Request Metadata {}'), 'debug');
  });
});
