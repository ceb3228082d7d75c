import { expect } from 'chai';
import { CallstreamError } from '../../src/errors.js';

/** The error `promise` rejects with, checked to be a `type` (CallstreamError by default). */
export async function rejection<E extends Error = CallstreamError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E = CallstreamError as unknown as abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as E;
  }
  throw new Error('expected a rejection');
}
