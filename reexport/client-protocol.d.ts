export * from '@chorus/client/protocol';
