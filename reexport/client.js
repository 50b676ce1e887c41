// chorus/client: the @chorus/client package (client/), re-exported so that one install of chorus
// keeps its old import path and shares one copy of the client with code importing @chorus/client.
export * from '@chorus/client';
