/** Additional inputs: values a client sets beside the audio (FastRTC's additional_inputs). */
export type InputSpec =
  | { name: string; type: 'text'; label?: string; default?: string; maxLength?: number }
  | { name: string; type: 'number'; label?: string; default?: number; minimum?: number; maximum?: number }
  | { name: string; type: 'slider'; label?: string; default?: number; minimum: number; maximum: number; step?: number }
  | { name: string; type: 'checkbox'; label?: string; default?: boolean }
  | { name: string; type: 'select'; label?: string; default?: string; choices: string[] };

export type InputValues = Record<string, string | number | boolean | undefined>;

export type InputCheck = { ok: true; values: InputValues } | { ok: false; errors: string[] };

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED = new Set(['webrtc_id', 'websocket_id', 'secret']);

/** Checks a declaration once, at Stream creation: names unique and plain, defaults valid. */
export function checkInputSpecs(specs: readonly InputSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (!NAME.test(spec.name) || RESERVED.has(spec.name)) {
      throw new TypeError(`additionalInputs: "${spec.name}" is not a usable name (letters, digits, _; not webrtc_id/websocket_id/secret).`);
    }
    if (seen.has(spec.name)) throw new TypeError(`additionalInputs: "${spec.name}" is declared twice.`);
    seen.add(spec.name);
    if (spec.type === 'select' && (!Array.isArray(spec.choices) || spec.choices.length === 0)) {
      throw new TypeError(`additionalInputs: select "${spec.name}" needs choices.`);
    }
    if (spec.type === 'slider' && !(spec.minimum < spec.maximum)) {
      throw new TypeError(`additionalInputs: slider "${spec.name}" needs minimum < maximum.`);
    }
    if (spec.default !== undefined) {
      const error = checkValue(spec, spec.default);
      if (error) throw new TypeError(`additionalInputs: the default of "${spec.name}" is invalid: ${error}`);
    }
  }
}

/** The starting values: every declared default. */
export function defaultInputs(specs: readonly InputSpec[]): InputValues {
  const values: InputValues = {};
  for (const spec of specs) values[spec.name] = spec.default ?? (spec.type === 'checkbox' ? false : spec.type === 'select' ? spec.choices[0] : undefined);
  return values;
}

/**
 * Validates values against the declaration: every given field must be declared and of the right
 * type and range. Missing fields keep their current value. Reasons are listed for a 422 answer.
 */
export function validateInputs(specs: readonly InputSpec[], given: Record<string, unknown>): InputCheck {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const errors: string[] = [];
  const values: InputValues = {};
  for (const [name, value] of Object.entries(given)) {
    const spec = byName.get(name);
    if (!spec) {
      errors.push(`"${name}" is not a declared input (declared: ${specs.map((s) => s.name).join(', ') || 'none'}).`);
      continue;
    }
    const error = checkValue(spec, value);
    if (error) errors.push(`"${name}": ${error}`);
    else values[name] = value as string | number | boolean;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}

function checkValue(spec: InputSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'text':
      if (typeof value !== 'string') return 'must be a string.';
      if (value.length > (spec.maxLength ?? 10_000)) return `must be at most ${spec.maxLength ?? 10_000} characters.`;
      return undefined;
    case 'checkbox':
      return typeof value === 'boolean' ? undefined : 'must be true or false.';
    case 'select':
      return typeof value === 'string' && spec.choices.includes(value) ? undefined : `must be one of ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}.`;
    case 'number':
    case 'slider': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number.';
      if (spec.minimum !== undefined && value < spec.minimum) return `must be at least ${spec.minimum}.`;
      if (spec.maximum !== undefined && value > spec.maximum) return `must be at most ${spec.maximum}.`;
      return undefined;
    }
  }
}
