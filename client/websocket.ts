/**
 * Which WebSocket constructor to use: the one passed in options, else
 * `globalThis.WebSocket` (browsers, Deno, Node ≥ 22), else the `ws` package,
 * loaded lazily through node-websocket.ts. The specifier is a variable on
 * purpose: neither the bundler nor the browser type check follows it, so the
 * browser bundle carries no Node-only import (a test checks the bundle).
 */

/** The part of the WHATWG WebSocket the client uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export async function resolveWebSocket(option: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  if (option !== undefined) return option;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  const specifier = './node-websocket.js';
  const mod = (await import(/* @vite-ignore */ specifier)) as { loadNodeWebSocket: () => Promise<WebSocketConstructor> };
  return mod.loadNodeWebSocket();
}
