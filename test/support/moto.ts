import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

/**
 * A throwaway `moto_server` (moto 5.2.1, preinstalled on these machines) on 127.0.0.1 and a free port, one per test
 * file: test files running in parallel never share AWS state. A machine without moto fails the tests loudly, naming
 * what is missing; it never skips them.
 */
export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

const COMMAND = 'moto_server';
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 2_000;

/** Client settings for any AWS SDK v3 client talking to moto: us-east-1, dummy static credentials. */
export function awsClientConfig(endpoint: string) {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

/**
 * Runs the preinstalled AWS CLI against moto and returns its JSON answer: for the few calls whose SDK client this
 * project does not depend on (EC2 instances to target by tag).
 */
export async function awsCli(endpoint: string, args: readonly string[]): Promise<unknown> {
  const { accessKeyId, secretAccessKey } = awsClientConfig(endpoint).credentials;
  try {
    const { stdout } = await promisify(execFile)('aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_PAGER: '',
      },
      timeout: 30_000,
    });
    return stdout.trim() === '' ? undefined : JSON.parse(stdout);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the AWS CLI (aws) is not on PATH: these tests use it to drive moto');
    throw new Error(`aws ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: error });
  }
}

export interface MotoServerOptions {
  /** The server executable. @default moto_server, from PATH */
  readonly command?: string;
}

export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoServer> {
  const command = options.command ?? COMMAND;
  let lastError: unknown;
  // A free port can be taken between probing it and moto binding it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(command, port);
    } catch (error) {
      if (error instanceof MotoMissingError) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Starts moto before the file's tests and stops it after them. The returned object's `endpoint` is readable from
 * inside tests and hooks.
 */
export function useMotoServer(): { readonly endpoint: string } {
  let server: MotoServer | undefined;
  beforeAll(async () => {
    server = await startMotoServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const current = (): MotoServer => {
    if (!server) throw new Error('moto_server is not running: use its endpoint inside tests or hooks only');
    return server;
  };
  return {
    get endpoint() {
      return current().endpoint;
    },
  };
}

class MotoMissingError extends Error {}

async function launch(command: string, port: number): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const ended = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === 'ENOENT'
          ? new MotoMissingError(
              `${command} is not on PATH: the AWS adapter integration tests need moto 5.2.1's server ` +
                `(pip install "moto[server]==5.2.1") to emulate DynamoDB, SNS, SQS, SSM, S3 and EventBridge`,
            )
          : error,
      );
    });
    child.once('exit', (code, signal) => {
      const missing = code === 127 || /command not found|No module named/i.test(output);
      const text = `${command} exited (${signal ?? `code ${code}`}) before answering on ${endpoint}:\n${output}`;
      resolve(
        missing ? new MotoMissingError(`${text}\nIs moto[server] 5.2.1 installed for this Python?`) : new Error(text),
      );
    });
  });

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    // Never started (spawn failed), or already ended.
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const waiting = new AbortController();
  const failure = await Promise.race([ended, waitUntilAnswering(command, endpoint, child, ended, waiting.signal)]);
  waiting.abort();
  if (failure instanceof Error) {
    await stop();
    throw failure;
  }
  return { endpoint, stop };
}

/** Resolves undefined once moto answers HTTP, or why it does not (it ended, or the timeout passed). */
async function waitUntilAnswering(
  command: string,
  endpoint: string,
  child: ChildProcess,
  ended: Promise<Error>,
  cancelled: AbortSignal,
): Promise<Error | undefined> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !cancelled.aborted) {
    if (child.exitCode !== null || child.signalCode !== null) return ended;
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return undefined;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return new Error(`${command} did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not find a free TCP port');
  return address.port;
}
