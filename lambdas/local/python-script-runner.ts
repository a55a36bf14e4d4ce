import { execFile } from 'node:child_process';

/**
 * What `aws:executeScript` does with a Python script, on this host: the script is loaded as a module, its handler is
 * called as `handler(events, context)` with the step's InputPayload as `events`, and what it returns is the step's
 * Payload. An exception the handler raises fails the step with its type and message, as Automation reports it.
 * `context` is None here (Automation's holds the execution's metadata; these runbooks' scripts do not read it).
 */

/** Runs `handler` of a Python `script` on `events`; resolves to what it returned, rejects with why it failed. */
export type RunScript = (request: ScriptRequest) => Promise<unknown>;

export interface ScriptRequest {
  readonly script: string;
  readonly handler: string;
  readonly events: Readonly<Record<string, unknown>>;
  /** The step's timeoutSeconds: the process is killed past it. */
  readonly timeoutMs: number;
}

export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/*
 * The harness: the request arrives on stdin as JSON; what the script prints goes to stderr, so stdout carries only
 * the outcome, one JSON object.
 */
const HARNESS = `
import json, sys
request = json.load(sys.stdin)
out, sys.stdout = sys.stdout, sys.stderr
try:
    module = {"__name__": "script"}
    exec(compile(request["script"], "Script", "exec"), module)
    outcome = {"payload": module[request["handler"]](request["events"], None)}
except Exception as error:
    outcome = {"error": type(error).__name__ + ": " + str(error)}
out.write(json.dumps(outcome))
`;

/** `python3` on PATH runs the script: the host's Python stands in for the step's Runtime. */
export const runPythonScript: RunScript = (request) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      'python3',
      ['-c', HARNESS],
      { timeout: request.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error?.killed) {
          reject(new ScriptError(`the script ran past its timeout of ${request.timeoutMs / 1000}s and was stopped`));
          return;
        }
        let outcome: { payload?: unknown; error?: string };
        try {
          outcome = JSON.parse(stdout) as typeof outcome;
        } catch {
          reject(new ScriptError(`python3 failed: ${(error?.message ?? stderr).trim().slice(-500)}`));
          return;
        }
        if (outcome.error !== undefined) reject(new ScriptError(outcome.error));
        else resolve(outcome.payload ?? null);
      },
    );
    child.stdin?.end(JSON.stringify({ script: request.script, handler: request.handler, events: request.events }));
  });
