import { CallstreamError } from '../errors.js';
import { twilioFailure } from './api-error.js';
import type { TwilioClient } from './client.js';

/** A number's voice settings: what answers its calls, and where Twilio reports on them. */
export interface VoiceSettings {
  voiceUrl: string;
  voiceMethod: string;
  voiceFallbackUrl: string;
  voiceFallbackMethod: string;
  statusCallback: string;
  statusCallbackMethod: string;
}

export const VOICE_SETTING_KEYS = [
  'voiceUrl',
  'voiceMethod',
  'voiceFallbackUrl',
  'voiceFallbackMethod',
  'statusCallback',
  'statusCallbackMethod',
] as const satisfies readonly (keyof VoiceSettings)[];

/** One of the account's phone numbers (IncomingPhoneNumber), the parts callstream uses. */
export interface PhoneNumber {
  /** `PN...` */
  sid: string;
  /** E.164, e.g. `+15550100`. */
  phoneNumber: string;
  friendlyName: string;
  /** A TwiML App that answers the number's calls instead of `voiceUrl` (empty when none). */
  voiceApplicationSid: string;
  /** A SIP trunk that takes the number's calls instead of `voiceUrl` (empty when none). */
  trunkSid: string;
  /** False when Twilio says the number has no voice capability. */
  voiceCapable: boolean;
  voice: VoiceSettings;
}

interface NumberInstance {
  sid: string;
  phoneNumber: string;
  friendlyName?: string | null;
  voiceApplicationSid?: string | null;
  trunkSid?: string | null;
  capabilities?: { voice?: boolean } | null;
  voiceUrl?: string | null;
  voiceMethod?: string | null;
  voiceFallbackUrl?: string | null;
  voiceFallbackMethod?: string | null;
  statusCallback?: string | null;
  statusCallbackMethod?: string | null;
}

/** Strips spaces, dashes, dots and parentheses: `+1 (555) 010-0` → `+15550100`. Refuses anything but E.164. */
export function normalizePhoneNumber(text: string): string {
  const compact = text.replace(/[\s().-]/g, '');
  if (!/^\+[1-9]\d{4,14}$/.test(compact)) {
    throw new CallstreamError('CONFIG_ERROR', `"${text}" is not a phone number in E.164 form.`, {
      hint: 'write it with the country code, e.g. --number +15551234567.',
    });
  }
  return compact;
}

/** The account's phone numbers (those matching `phoneNumber`, when given; Twilio also matches partial numbers). */
export async function listPhoneNumbers(client: TwilioClient, phoneNumber?: string): Promise<PhoneNumber[]> {
  try {
    const found = await client.incomingPhoneNumbers.list({ ...(phoneNumber ? { phoneNumber } : {}), pageSize: 100, limit: 1000 });
    return found.map(toPhoneNumber);
  } catch (error) {
    throw twilioFailure(error, 'list the account\'s phone numbers');
  }
}

/**
 * The number to use: `wanted` when given (it must be the account's), else the account's only
 * number. Errors list the account's numbers when there is no single answer.
 */
export async function findPhoneNumber(client: TwilioClient, wanted?: string): Promise<PhoneNumber> {
  if (wanted) {
    const number = normalizePhoneNumber(wanted);
    const match = (await listPhoneNumbers(client, number)).find((n) => n.phoneNumber === number);
    if (match) return match;
    const all = await listPhoneNumbers(client);
    throw new CallstreamError('CONFIG_ERROR', `${number} is not one of this account's phone numbers (${describeNumbers(all)}).`, {
      hint: all.length > 0 ? `use --number with one of them, e.g. --number ${all[0]!.phoneNumber}.` : 'buy a number with voice in the Twilio console (Phone Numbers > Buy a number).',
    });
  }
  const all = await listPhoneNumbers(client);
  if (all.length === 1) return all[0]!;
  if (all.length === 0) {
    throw new CallstreamError('CONFIG_ERROR', 'This Twilio account has no phone numbers.', {
      hint: 'buy a number with voice in the Twilio console (Phone Numbers > Buy a number); trial accounts get one free.',
    });
  }
  throw new CallstreamError('CONFIG_ERROR', `This account has ${all.length} phone numbers: ${describeNumbers(all)}. Which one?`, {
    hint: `choose with --number (or phoneNumber), e.g. --number ${all[0]!.phoneNumber}.`,
  });
}

/**
 * Refuses numbers whose voice URL Twilio would ignore (bound to a TwiML App or a SIP trunk) or that
 * cannot take calls: pointing them at callstream would silently do nothing.
 */
export function checkRoutable(number: PhoneNumber): void {
  if (number.voiceApplicationSid) {
    throw new CallstreamError(
      'CONFIG_ERROR',
      `${number.phoneNumber} is answered by the TwiML App ${number.voiceApplicationSid}, so Twilio would ignore a voice URL; nothing was changed.`,
      { hint: 'use another number, or in the Twilio console set the number\'s voice configuration to "Webhook" instead of the TwiML App.' },
    );
  }
  if (number.trunkSid) {
    throw new CallstreamError(
      'CONFIG_ERROR',
      `${number.phoneNumber} belongs to the SIP trunk ${number.trunkSid}, so Twilio would ignore a voice URL; nothing was changed.`,
      { hint: 'use another number, or remove it from the trunk (Elastic SIP Trunking > Numbers) first.' },
    );
  }
  if (!number.voiceCapable) {
    throw new CallstreamError('CONFIG_ERROR', `${number.phoneNumber} cannot receive voice calls; nothing was changed.`, {
      hint: 'use a number with the Voice capability.',
    });
  }
}

/** One number, as it is now. */
export async function fetchPhoneNumber(client: TwilioClient, sid: string): Promise<PhoneNumber> {
  try {
    return toPhoneNumber(await client.incomingPhoneNumbers(sid).fetch());
  } catch (error) {
    throw twilioFailure(error, `read the phone number ${sid}`);
  }
}

/** Changes some of a number's voice settings (empty strings clear a URL); returns the number as updated. */
export async function updateVoiceSettings(client: TwilioClient, sid: string, settings: Partial<VoiceSettings>): Promise<PhoneNumber> {
  try {
    return toPhoneNumber(await client.incomingPhoneNumbers(sid).update(settings));
  } catch (error) {
    throw twilioFailure(error, `update the phone number ${sid}`);
  }
}

function toPhoneNumber(instance: NumberInstance): PhoneNumber {
  const text = (value: string | null | undefined) => value ?? '';
  return {
    sid: instance.sid,
    phoneNumber: instance.phoneNumber,
    friendlyName: text(instance.friendlyName),
    voiceApplicationSid: text(instance.voiceApplicationSid),
    trunkSid: text(instance.trunkSid),
    voiceCapable: instance.capabilities?.voice !== false,
    voice: {
      voiceUrl: text(instance.voiceUrl),
      voiceMethod: text(instance.voiceMethod),
      voiceFallbackUrl: text(instance.voiceFallbackUrl),
      voiceFallbackMethod: text(instance.voiceFallbackMethod),
      statusCallback: text(instance.statusCallback),
      statusCallbackMethod: text(instance.statusCallbackMethod),
    },
  };
}

function describeNumbers(numbers: PhoneNumber[]): string {
  if (numbers.length === 0) return 'it has none';
  const shown = numbers.slice(0, 20).map((n) => (n.friendlyName && n.friendlyName !== n.phoneNumber ? `${n.phoneNumber} "${n.friendlyName}"` : n.phoneNumber));
  return shown.join(', ') + (numbers.length > 20 ? `, and ${numbers.length - 20} more` : '');
}
