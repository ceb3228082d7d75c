import twilio from 'twilio';

/** The parameter that carries the per-call token from the webhook to the media stream's `start`. */
export const CALL_TOKEN_PARAMETER = 'callstreamToken';

export interface ConnectTwimlOptions {
  /** The `wss://` URL of the media stream (no query string: Twilio does not allow one). */
  streamUrl: string;
  /** Where Twilio posts the stream's own events (stream-started, stream-stopped, stream-error), POST. */
  statusCallback?: string;
  parameters: Record<string, string>;
  greeting?: string;
  goodbye?: string;
}

/** `<Connect><Stream>` TwiML with `<Parameter>`s, built with the twilio helper. */
export function connectTwiml(options: ConnectTwimlOptions): string {
  const response = new twilio.twiml.VoiceResponse();
  if (options.greeting) response.say(options.greeting);
  const stream = response.connect().stream(
    options.statusCallback ? { url: options.streamUrl, statusCallback: options.statusCallback, statusCallbackMethod: 'POST' } : { url: options.streamUrl },
  );
  for (const [name, value] of Object.entries(options.parameters)) stream.parameter({ name, value });
  if (options.goodbye) response.say(options.goodbye);
  return response.toString();
}

/** `<Reject reason="busy"/>`: what a caller over the concurrency limit gets. */
export function rejectTwiml(reason: 'busy' | 'rejected' = 'busy'): string {
  const response = new twilio.twiml.VoiceResponse();
  response.reject({ reason });
  return response.toString();
}

/** Says a sentence and hangs up: for calls this Stream cannot serve. */
export { sayAndHangUpTwiml } from '../../twilio/call-control.js';

/** `<Hangup/>`: what a webhook replayed after its call gets (a clean end whether the call rings or is answered). */
export function hangUpTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.hangup();
  return response.toString();
}
