/**
 * Reusable handlers, part of callstream's public API: echo, ReplyOnPause with its pause detectors, ReplyOnStopWords with an OpenAI transcriber, the OpenAI Realtime bridge, the demo handlers, video filters.
 * @module callstream/handlers
 */
export { EchoHandler, PcmEchoHandler } from './echo.js';
export * from './reply-on-pause/index.js';
export * from './reply-on-stop-words/index.js';
export { replyEcho } from './reply-echo.js';
export { conference, conferencePin, DEFAULT_ROOM, LOBBY_MS, PIN_GREETING, PIN_INPUT, ROOM_INPUT, roomFromCall, roomName } from './conference/index.js';
export { Desk, type DeskAuthorize, type DeskCaller, deskPage, holdSound } from './desk/index.js';
export * from './openai-realtime/index.js';
export { createDemo, createDemoStream, DEFAULT_DEMO_HANDLER, type DemoHandler, demoHandler, DEMO_HANDLERS, type DemoHandlerName } from './demo.js';
export { flip, invert } from './video.js';
