import type { Context } from 'koa';
import { CallstreamError } from '../errors.js';

/**
 * Reads a request body up to `limit` bytes. Larger bodies are refused with 413 before they are
 * buffered (by Content-Length when given, else as they stream in), and the connection is closed.
 */
export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw tooLarge(ctx, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.req.unpipe();
      ctx.req.resume();
      throw tooLarge(ctx, limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Reads an `application/x-www-form-urlencoded` body into a flat record (the last value of a repeated key wins). */
export async function readForm(ctx: Context, limit: number): Promise<Record<string, string>> {
  const raw = await readBody(ctx, limit);
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

/** Reads a JSON body; malformed JSON is a 400 with a clear message. */
export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  const raw = await readBody(ctx, limit);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (error) {
    throw new CallstreamError('BAD_REQUEST', `The body is not valid JSON: ${(error as Error).message}`);
  }
}

/** A 413 that also closes the connection, so the rest of the body is not read for nothing. */
function tooLarge(ctx: Context, limit: number): CallstreamError & { status: number } {
  ctx.set('Connection', 'close');
  return Object.assign(new CallstreamError('BAD_REQUEST', `The body is larger than the limit of ${limit} bytes.`), { status: 413 });
}
