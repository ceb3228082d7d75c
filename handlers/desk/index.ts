export { Desk, type DeskCaller } from './desk.js';
export { type DeskAuthorize, deskPage } from './desk-page.js';
export { holdSound } from './hold-sound.js';
