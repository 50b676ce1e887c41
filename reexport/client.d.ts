export * from '@chorus/client';
