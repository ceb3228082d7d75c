export { conference, DEFAULT_ROOM, LOBBY_MS, PIN_GREETING, PIN_INPUT, ROOM_INPUT, roomFromCall, roomName } from './conference.js';
export { conferencePin } from './conference-pin.js';
