/**
 * client/protocol — THE wire schema shared by the broker and every client:
 * message types, error and close codes, the frame codec, topic-name rules and
 * merge patch. Imports nothing from the broker and nothing Node-only.
 * docs/protocol.md is the prose version for third-party clients.
 */
export * from './codes.js';
export * from './messages.js';
export * from './codec.js';
export * from './topic-name.js';
export * from './merge-patch.js';
export * from './validate.js';
export * from './writer.js';
export * from './delivery.js';
export * from './reader.js';
export * from './scan.js';
