/**
 * Sample arrays for the per-frame path, carved from Node's shared Buffer pool (8 KiB slabs, offsets
 * 8-byte aligned) instead of each getting an ArrayBuffer of its own. Every 20 ms frame of every call
 * used to allocate one: a backing store outside the heap that the garbage collector tracks and frees
 * one by one, on other threads, which the bench counted as CPU per frame. The arrays are plain
 * Uint8Array / Int16Array views (their `slice()` copies, unlike a Buffer's); like any view, their
 * `.buffer` is shared, so code that needs the bytes uses `byteOffset` and `byteLength`. The contents
 * are not initialised: callers fill every element.
 */
export function pooledBytes(length: number): Uint8Array {
  const slab = Buffer.allocUnsafe(length);
  return new Uint8Array(slab.buffer, slab.byteOffset, length);
}

/** 16-bit samples from the shared pool (see pooledBytes). */
export function pooledSamples(length: number): Int16Array {
  const slab = Buffer.allocUnsafe(length * 2);
  return new Int16Array(slab.buffer, slab.byteOffset, length);
}

/** A copy of `source[start, end)` in pooled memory. */
export function pooledCopy<T extends Int16Array | Uint8Array>(source: T, start = 0, end = source.length): T {
  const out = (source instanceof Int16Array ? pooledSamples(end - start) : pooledBytes(end - start)) as T;
  out.set(source.subarray(start, end));
  return out;
}
