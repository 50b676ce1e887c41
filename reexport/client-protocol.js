// chorus/client/protocol: @chorus/client/protocol re-exported (see client.js beside this file).
export * from '@chorus/client/protocol';
