/** Reusable handlers, part of callstream's public API (`callstream/handlers`). */
export { EchoHandler, PcmEchoHandler } from './echo.js';
export { demoHandler, DEMO_HANDLERS, type DemoHandlerName } from './demo.js';
