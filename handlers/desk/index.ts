export { Desk, type DeskCaller } from './desk.js';
export { deskPage } from './desk-page.js';
export { holdSound } from './hold-sound.js';
