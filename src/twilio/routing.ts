import type { VoiceSettings } from './numbers.js';

/**
 * The voice settings that send a number's calls to a Stream reachable at `origin` (a public URL)
 * and mounted at `mountPath`: the webhook `{origin}{mountPath}/telephone/incoming`, and call status
 * callbacks to `{origin}{mountPath}/telephone/status`, both POST.
 */
export function streamVoiceSettings(origin: string, mountPath = ''): Partial<VoiceSettings> {
  const base = origin.replace(/\/+$/, '') + mountPath;
  return {
    voiceUrl: `${base}/telephone/incoming`,
    voiceMethod: 'POST',
    statusCallback: `${base}/telephone/status`,
    statusCallbackMethod: 'POST',
  };
}
