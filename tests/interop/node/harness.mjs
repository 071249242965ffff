// The conversation between a Node RP script and pytest (tests/interop/interop_support.py).
//
// pytest starts `node SCRIPT CONFIG_JSON` and reads one JSON object per stdout line:
//   {"type": "authorize", "url": ...}  pytest signs in through idgate's real pages and answers on
//                                      stdin with {"callback": URL} (query or fragment response)
//   {"type": "result", "result": ...}  the scenario's findings, checked by the Python test
//   {"type": "error", "step": ..., "message": ...}  which step of the library failed, and why
// Nothing else may be written to stdout.

import readline from 'node:readline';

const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();

function emit(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

class StepError extends Error {
  constructor(step, cause) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.step = step;
  }
}

/** Run one named step of the scenario; a failure reports that name. */
export async function step(name, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(name, err);
  }
}

/** A condition the scenario checks itself (beyond what the library checks). */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Hand the authorization URL to pytest, which logs in; the callback URL it reached. */
export async function signIn(url) {
  emit({ type: 'authorize', url: String(url) });
  const { value, done } = await lines.next();
  if (done) throw new Error('pytest closed stdin before answering with the callback URL');
  const answer = JSON.parse(value);
  if (answer.error) throw new Error(`signing in through idgate's pages failed: ${answer.error}`);
  return new URL(answer.callback);
}

function describe(err) {
  const cause = err.cause instanceof Error ? err.cause : err;
  const parts = [err.message];
  if (cause.code) parts.push(`code=${cause.code}`);
  if (cause.error) parts.push(`error=${cause.error}`);
  if (cause.error_description) parts.push(`error_description=${cause.error_description}`);
  if (cause.cause && typeof cause.cause === 'object' && !(cause.cause instanceof Error)) {
    try {
      parts.push(`cause=${JSON.stringify(cause.cause).slice(0, 600)}`);
    } catch {
      // an unserialisable cause adds nothing
    }
  } else if (cause.cause instanceof Error) {
    parts.push(`cause=${cause.cause.message}`);
  }
  return parts.join('; ');
}

/** Run `scenario(config)`, print its result or the failing step, and end the process. */
export async function run(scenarios) {
  const config = JSON.parse(process.argv[2]);
  const scenario = scenarios[config.scenario];
  try {
    if (!scenario) throw new StepError('start', new Error(`unknown scenario ${config.scenario}`));
    emit({ type: 'result', result: await scenario(config) });
  } catch (err) {
    emit({ type: 'error', step: err.step ?? 'unknown', message: describe(err) });
    process.exitCode = 1;
  } finally {
    input.close();
  }
}
