import { twilioFailure } from './api-error.js';
import type { TwilioClient } from './client.js';

/** Twilio-side recording of phone calls, started over REST once media flows (`telephone.twilioRecording`). */
export interface TwilioRecordingOptions {
  /** `dual` (default): the caller and callstream on separate channels; `mono`: mixed. */
  channels?: 'dual' | 'mono';
  /** Which audio: `both` (default), `inbound` (the caller) or `outbound` (callstream). */
  track?: 'both' | 'inbound' | 'outbound';
  /** Where Twilio posts once the recording is ready (absolute URL; Twilio's recording status callback). */
  statusCallback?: string;
}

/** Starts recording a live call (`calls(sid).recordings.create`); resolves with the recording's SID (`RE...`). */
export async function startTwilioRecording(client: TwilioClient, callSid: string, options: TwilioRecordingOptions = {}): Promise<string> {
  try {
    const recording = await client.calls(callSid).recordings.create({
      recordingChannels: options.channels ?? 'dual',
      ...(options.track ? { recordingTrack: options.track } : {}),
      ...(options.statusCallback ? { recordingStatusCallback: options.statusCallback } : {}),
    });
    return recording.sid;
  } catch (error) {
    throw twilioFailure(error, `start recording the call ${callSid}`);
  }
}
