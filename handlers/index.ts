/** Reusable handlers, part of callstream's public API (`callstream/handlers`). */
export { EchoHandler, PcmEchoHandler } from './echo.js';
export * from './reply-on-pause/index.js';
export { replyEcho } from './reply-echo.js';
export { DEFAULT_DEMO_HANDLER, demoHandler, DEMO_HANDLERS, type DemoHandlerName } from './demo.js';
