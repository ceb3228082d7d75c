import type { InputValues, SessionContext } from '../../src/index.js';

/** Digits kept of one entry: a PIN is at most 64 characters. */
const MAX_DIGITS = 64;

/**
 * What a phone caller keys in, ended by `#` (`*` starts over): resolves with the digits, or
 * undefined when no `#` comes within `ms` or the call ends.
 */
export function keyedPin(ctx: SessionContext, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let digits = '';
    const finish = (value: string | undefined) => {
      clearTimeout(timer);
      ctx.off('dtmf', onDigit);
      ctx.signal.removeEventListener('abort', aborted);
      resolve(value);
    };
    const onDigit = (digit: string) => {
      if (digit === '#') finish(digits);
      else if (digit === '*') digits = '';
      else if (digits.length < MAX_DIGITS) digits += digit;
    };
    const aborted = () => finish(undefined);
    const timer = setTimeout(aborted, Math.max(0, ms));
    ctx.on('dtmf', onDigit);
    ctx.signal.addEventListener('abort', aborted, { once: true });
  });
}

/** The next inputs a browser or program sends (its `room` and `pin`), or undefined after `ms` or at the session's end. */
export function nextInputs(ctx: SessionContext, ms: number): Promise<Readonly<InputValues> | undefined> {
  return new Promise((resolve) => {
    const finish = (value: Readonly<InputValues> | undefined) => {
      clearTimeout(timer);
      ctx.off('inputs', onInputs);
      ctx.signal.removeEventListener('abort', aborted);
      resolve(value);
    };
    const onInputs = (values: InputValues) => finish(values);
    const aborted = () => finish(undefined);
    const timer = setTimeout(aborted, Math.max(0, ms));
    ctx.on('inputs', onInputs);
    ctx.signal.addEventListener('abort', aborted, { once: true });
  });
}

/** A `pin` input as a PIN to present: undefined when empty. */
export function pinOf(inputs: Readonly<InputValues>): string | undefined {
  const pin = typeof inputs.pin === 'string' ? inputs.pin.trim() : '';
  return pin === '' ? undefined : pin;
}
