import { expect } from 'chai';

/** Asserts that `promise` rejects with a message matching `pattern`; returns the error. */
export async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected a rejection matching ${pattern}`).to.be.instanceOf(Error);
  expect((error as Error).message).to.match(pattern);
  return error as Error;
}
