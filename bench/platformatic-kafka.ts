/**
 * @platformatic/kafka for the kafka-clients bench only. It is not in package.json: its
 * dependencies (@platformatic/dynamic-buffer, @platformatic/wasm-utils) need Node >= 22.19, and
 * `npm ci` on Node 20 would warn EBADENGINE for every install of Tally. The bench installs it on
 * demand (`npm install --no-save`), and this file types the few parts of its API the bench uses.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The version the bench was written and measured with (docs/decisions/0002-…). */
export const PLATFORMATIC_KAFKA_VERSION = '1.35.0';
export const PLATFORMATIC_KAFKA_INSTALL = `npm install --no-save --no-audit --no-fund @platformatic/kafka@${PLATFORMATIC_KAFKA_VERSION}`;

interface ProducerOptions {
  clientId: string;
  bootstrapBrokers: string[];
  idempotent: boolean;
  acks: number;
  partitioner: unknown;
  autocreateTopics: boolean;
  retries: number;
  retryDelay: number;
}

interface ConsumerOptions {
  clientId: string;
  groupId: string;
  bootstrapBrokers: string[];
  maxWaitTime: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  autocommit: boolean;
}

interface MessagesStream {
  on(event: 'error', listener: (err: unknown) => void): void;
  on(event: 'data', listener: (message: unknown) => void): void;
  close(): Promise<void>;
}

export interface PlatformaticKafka {
  Producer: new (options: ProducerOptions) => {
    send(request: { messages: { topic: string; key: Buffer; value: Buffer }[] }): Promise<unknown>;
    close(): Promise<void>;
  };
  Consumer: new (options: ConsumerOptions) => {
    consume(options: { topics: string[]; mode: string }): Promise<MessagesStream>;
    close(force?: boolean): Promise<void>;
  };
  compatibilityPartitioner: unknown;
  ProduceAcks: { ALL: number };
  MessagesStreamModes: { EARLIEST: string };
}

const PACKAGE = '@platformatic/kafka';

/** The installed package and its version, or an error that says how to install it. */
export async function loadPlatformaticKafka(): Promise<{ kafka: PlatformaticKafka; version: string }> {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(PACKAGE);
  } catch {
    throw new Error(
      `${PACKAGE} is not installed: it is an optional install for this bench only (its dependencies need Node >= 22.19). ` +
        `Install it with: ${PLATFORMATIC_KAFKA_INSTALL}  (on Node 20 npm warns EBADENGINE; run the bench on Node 24: npx -p node@24 node bin/bench.mjs kafka-clients)`,
    );
  }
  // its package.json is not exported: found next to the resolved entry point
  let dir = path.dirname(entry);
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  const kafka = (await import(PACKAGE as string)) as PlatformaticKafka;
  return { kafka, version };
}
