/** Node only: the `ws` package as a WHATWG-style constructor. The browser bundle replaces this module. */
import WebSocket from 'ws';
import type { WebSocketConstructor } from './websocket.js';

export async function loadNodeWebSocket(): Promise<WebSocketConstructor> {
  return WebSocket as unknown as WebSocketConstructor;
}
