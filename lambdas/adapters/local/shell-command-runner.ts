import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSsmDocument, renderScript, type SsmDocument, validateParameters } from '../../core/ssm-document.ts';
import type { CommandRequest, CommandResult, CommandRunner } from '../../ports.ts';

/** The repository's `ssm-documents/`. */
export const DEFAULT_DOCUMENTS_DIR = fileURLToPath(new URL('../../../ssm-documents/', import.meta.url));
/** Output kept per command: the last 64 KiB of stdout and stderr, interleaved as they arrived. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
/** SSM document names; no path separators, so a name cannot reach outside the documents directory. */
const DOCUMENT_NAME = /^[A-Za-z0-9_.-]{3,128}$/;
/** After SIGTERM to a timed-out command's process group, SIGKILL follows this much later. */
const KILL_AFTER_MS = 1_000;
/** After the script exits, how long its pipes may take to drain. */
const DRAIN_MS = 500;

export type SpawnProcess = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface ShellCommandRunnerOptions {
  /** Environment of the scripts. @default process.env without BASH_ENV and ENV */
  readonly env?: NodeJS.ProcessEnv;
  /** @default 64 KiB */
  readonly maxOutputBytes?: number;
  /** How processes are started (tests count them). @default child_process.spawn */
  readonly spawnProcess?: SpawnProcess;
}

/**
 * Runs the SSM documents on this host, as SSM Run Command would: parameters validated against the document first
 * (a rejection runs nothing), `{{ Name }}` substituted, the script run by bash in its own process group. Exit 0 is
 * success; on timeout the whole process group is killed. Processes the script leaves in its group are killed when
 * it ends; a service a document starts on purpose runs in its own session (setsid) and stays.
 */
export class ShellCommandRunner implements CommandRunner {
  private readonly env: NodeJS.ProcessEnv;
  private readonly maxOutputBytes: number;
  private readonly spawnProcess: SpawnProcess;

  constructor(
    private readonly documentsDir: string = DEFAULT_DOCUMENTS_DIR,
    options: ShellCommandRunnerOptions = {},
  ) {
    const { BASH_ENV: _bashEnv, ENV: _env, ...inherited } = process.env;
    this.env = options.env ?? inherited;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.spawnProcess = options.spawnProcess ?? ((command, args, opts) => spawn(command, args, opts));
  }

  async run(request: CommandRequest): Promise<CommandResult> {
    if (!Number.isFinite(request.timeoutMs) || request.timeoutMs <= 0)
      return rejected(`timeoutMs must be a positive number of milliseconds, got ${request.timeoutMs}`);
    const loaded = await this.load(request.document);
    if (typeof loaded === 'string') return rejected(loaded);
    const errors = validateParameters(loaded, request.parameters);
    if (errors.length > 0)
      return rejected(errors.map((e) => `${request.document}: parameter ${e.parameter} ${e.message}`).join('\n'));
    const script = renderScript(loaded, request.parameters);
    const workDir = await mkdtemp(join(tmpdir(), 'acgs-ssm-'));
    try {
      const scriptPath = join(workDir, '_script.sh');
      await writeFile(scriptPath, script, { mode: 0o700 });
      return await this.execute(scriptPath, workDir, request.timeoutMs);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** The parsed document, or why it cannot be run. */
  private async load(name: string): Promise<SsmDocument | string> {
    if (!DOCUMENT_NAME.test(name) || name.startsWith('.')) return `"${name}" is not a valid document name`;
    let text: string;
    try {
      text = await readFile(join(this.documentsDir, `${name}.yaml`), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return `unknown document ${name}`;
      throw error;
    }
    const parsed = parseSsmDocument(text);
    if (parsed.ok) return parsed.document;
    const problems = parsed.problems.map(
      (p) => `${p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`,
    );
    return `document ${name} is invalid: ${problems.join('; ')}`;
  }

  private execute(scriptPath: string, cwd: string, timeoutMs: number): Promise<CommandResult> {
    return new Promise((resolve) => {
      const output = new OutputTail(this.maxOutputBytes);
      const child = this.spawnProcess('bash', [scriptPath], {
        cwd,
        env: this.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        signalGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_AFTER_MS);
      }, timeoutMs);
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));

      let settled = false;
      const settle = (result: CommandResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(killTimer);
        resolve(result);
      };
      child.once('error', (error) => {
        signalGroup(child.pid, 'SIGKILL');
        settle({ status: 'failed', output: `${output.text()}cannot run bash: ${error.message}` });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        signalGroup(child.pid, 'SIGKILL');
        void drained(child).then(() => {
          if (timedOut)
            settle({
              status: 'timed-out',
              output: `${output.text()}timed out after ${timeoutMs} ms; its process group was killed`,
            });
          else if (code === 0) settle({ status: 'succeeded', exitCode: 0, output: output.text() });
          else
            settle({
              status: 'failed',
              exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0),
              output: output.text(),
            });
        });
      });
    });
  }
}

function rejected(reason: string): CommandResult {
  return { status: 'rejected', output: `rejected, nothing was run: ${reason}` };
}

/** Signals the process group led by `pid`; a group that is already gone is fine. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Waits for the child's pipes to close, but not for ever: a process outside the group may still hold them. */
async function drained(child: ChildProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    once(child, 'close'),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DRAIN_MS);
    }),
  ]);
  clearTimeout(timer);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Keeps the last `max` bytes written. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max) {
      const first = this.chunks[0];
      if (!first) break;
      const excess = this.size - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** The kept output, ending with a newline when not empty. */
  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    const head = this.dropped > 0 ? `[${this.dropped} earlier bytes of output dropped]\n` : '';
    const text = head + body;
    return text === '' || text.endsWith('\n') ? text : `${text}\n`;
  }
}
