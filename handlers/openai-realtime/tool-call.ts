import type { SessionContext } from '../../src/index.js';
import type { ToolCallHook } from './options.js';

/** A function call as run: the arguments it was given and the output for the model. */
export interface ToolCallResult {
  args: unknown;
  /** A string, as `function_call_output` takes it: the hook's string, its result as JSON, or `{"error": ...}`. */
  output: string;
}

/**
 * Runs one function call through the hook. Never rejects: arguments that are not JSON, a missing
 * hook, a hook that throws or a result that is not JSON all become `{"error": "..."}` for the model
 * (and a warning in the session's log), so the conversation goes on.
 */
export async function runToolCall(hook: ToolCallHook | undefined, name: string, rawArgs: string | undefined, ctx: SessionContext): Promise<ToolCallResult> {
  let args: unknown;
  try {
    args = rawArgs ? JSON.parse(rawArgs) : {};
    if (!hook) throw new Error(`no onToolCall hook: ${name} cannot be called`);
    const result = await hook(name, args, ctx);
    return { args, output: typeof result === 'string' ? result : JSON.stringify(result ?? null) };
  } catch (error) {
    ctx.log.warn({ err: error, tool: name }, 'a function call failed; the model is told');
    return { args, output: JSON.stringify({ error: error instanceof Error ? error.message : String(error) }) };
  }
}
