#!/usr/bin/env node
// A simulated ACGS-1 service: one real process serving GET /health on 127.0.0.1:PORT, with faults injected at run
// time (POST /_sim/fault) or at start (files in --faults-dir, which survive restarts). Plain Node, no dependencies.
//
//   node sim-service.mjs --name auth --port 18000 --shape raw|envelope|pgc --faults-dir /abs/dir --watch-pid 1234
//
// Shapes (as the real services answer /health):
//   raw       {"status":"healthy","service":"auth"}; unhealthy is HTTP 503
//   envelope  {"status":"success","data":{"status":"healthy","service":"ac"},"metadata":{...}}; unhealthy is HTTP 503
//   pgc       like raw, but degraded and unhealthy still answer HTTP 200 (as the real PGC does)
// Modes: healthy, slow (answer after delayMs, default 800), hang (never answer), error (HTTP 500, broken response
// model), degraded (HTTP 200), unhealthy (HTTP 503, pgc 200), crash (answer 202, then exit 1).
// Start faults: <faults-dir>/<name>.fail-start makes the process exit 1 at once; <faults-dir>/<name>.mode holds the
// initial mode (`slow`, `slow 1500`, `degraded`...).
// --watch-pid: exits when that process is gone (checked every 500 ms), so no simulated service outlives its demo.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const SHAPES = ['raw', 'envelope', 'pgc'];
const MODES = ['healthy', 'slow', 'hang', 'error', 'degraded', 'unhealthy', 'crash'];
const START_MODES = MODES.filter((m) => m !== 'crash');
const DEFAULT_DELAY_MS = 800;
const MAX_DELAY_MS = 600_000;
const WATCH_INTERVAL_MS = 500;

function usage(message) {
  process.stderr.write(
    `sim-service: ${message}\n` +
      'usage: node sim-service.mjs --name NAME --port PORT [--shape raw|envelope|pgc] [--faults-dir DIR] [--watch-pid PID]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key?.startsWith('--') || value === undefined) usage(`bad argument near "${key ?? ''}"`);
    out[key.slice(2)] = value;
  }
  for (const key of Object.keys(out)) {
    if (!['name', 'port', 'shape', 'faults-dir', 'watch-pid'].includes(key)) usage(`unknown option --${key}`);
  }
  const name = out.name;
  if (!name || !/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(name)) usage('--name must be lower-case letters, digits, dashes');
  const port = Number(out.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) usage('--port must be 1-65535');
  const shape = out.shape ?? 'raw';
  if (!SHAPES.includes(shape)) usage(`--shape must be one of ${SHAPES.join(', ')}`);
  let watchPid;
  if (out['watch-pid'] !== undefined) {
    watchPid = Number(out['watch-pid']);
    if (!Number.isInteger(watchPid) || watchPid < 1) usage('--watch-pid must be a process id');
  }
  return { name, port, shape, faultsDir: out['faults-dir'], watchPid };
}

const args = parseArgs(process.argv.slice(2));
const { name, port, shape, faultsDir, watchPid } = args;

function log(message) {
  process.stdout.write(`${new Date().toISOString()} ${name} ${message}\n`);
}

/** Parses `mode` or `mode delayMs` (also `mode:delayMs`); undefined when it is not a start mode. */
function parseModeText(text) {
  const [mode, delay, ...rest] = text.trim().split(/[\s:]+/);
  if (rest.length > 0 || !START_MODES.includes(mode)) return undefined;
  if (delay === undefined) return { mode, delayMs: DEFAULT_DELAY_MS };
  const delayMs = Number(delay);
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) return undefined;
  return { mode, delayMs };
}

// ---- start-time faults -----------------------------------------------------------------------------------------
let state = { mode: 'healthy', delayMs: DEFAULT_DELAY_MS };
let modeSource = 'default';
if (faultsDir !== undefined) {
  const failStart = join(faultsDir, `${name}.fail-start`);
  if (existsSync(failStart)) {
    const line = `${new Date().toISOString()} ${name} ERROR: failing to start on purpose (fail-start fault ${failStart}); exit 1`;
    process.stderr.write(`${line}\n`);
    process.exit(1);
  }
  const modeFile = join(faultsDir, `${name}.mode`);
  if (existsSync(modeFile)) {
    let text = '';
    try {
      text = readFileSync(modeFile, 'utf8');
    } catch (error) {
      usage(`cannot read ${modeFile}: ${error.message}`);
    }
    const parsed = parseModeText(text);
    if (parsed === undefined)
      usage(`${modeFile} must hold one of ${START_MODES.join(', ')} (optionally a delay in ms)`);
    state = parsed;
    modeSource = modeFile;
  }
}

// ---- health bodies -------------------------------------------------------------------------------------------
const startedAt = new Date().toISOString();

function healthAnswer(mode) {
  const word = mode === 'degraded' ? 'degraded' : mode === 'unhealthy' ? 'unhealthy' : 'healthy';
  const status = word === 'unhealthy' && shape !== 'pgc' ? 503 : 200;
  const inner = { status: word, service: name };
  if (shape === 'envelope') {
    const body = {
      status: word === 'unhealthy' ? 'error' : 'success',
      data: inner,
      metadata: { timestamp: new Date().toISOString(), service: name, version: '1.0.0', pid: process.pid },
    };
    return { status, body: JSON.stringify(body), type: 'application/json' };
  }
  return { status, body: JSON.stringify(inner), type: 'application/json' };
}

// What FastAPI answers when a handler returns something its response model rejects.
function brokenModelAnswer() {
  const body =
    'Internal Server Error\n' +
    `fastapi.exceptions.ResponseValidationError: 1 validation errors:\n` +
    `  {'type': 'missing', 'loc': ('response', 'status'), 'msg': 'Field required', 'input': {'service': '${name}'}}\n`;
  return { status: 500, body, type: 'text/plain; charset=utf-8' };
}

function send(response, answer, extraHeaders = {}) {
  if (response.destroyed || response.writableEnded) return;
  response.writeHead(answer.status, {
    'content-type': answer.type,
    'content-length': Buffer.byteLength(answer.body),
    ...extraHeaders,
  });
  response.end(answer.body);
}

function json(status, value) {
  return { status, body: JSON.stringify(value), type: 'application/json' };
}

function stateView() {
  return {
    name,
    pid: process.pid,
    port,
    shape,
    mode: state.mode,
    delayMs: state.delayMs,
    faultsDir: faultsDir ?? null,
    watchPid: watchPid ?? null,
    startedAt,
  };
}

// ---- server --------------------------------------------------------------------------------------------------
const timers = new Set();
let exiting = false;

function readBody(request, limit = 16 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

async function handleFault(request, response) {
  let input;
  try {
    input = JSON.parse(await readBody(request));
  } catch {
    send(response, json(400, { error: 'body must be JSON: {"mode": "...", "delayMs": N}' }));
    return;
  }
  const mode = input?.mode;
  if (!MODES.includes(mode)) {
    send(response, json(400, { error: `mode must be one of ${MODES.join(', ')}` }));
    return;
  }
  let delayMs = DEFAULT_DELAY_MS;
  if (input.delayMs !== undefined) {
    delayMs = input.delayMs;
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      send(response, json(400, { error: `delayMs must be an integer from 0 to ${MAX_DELAY_MS}` }));
      return;
    }
  }
  const previous = state.mode;
  if (mode === 'crash') {
    log(`fault mode=crash (was ${previous}); exiting with code 1 after this answer`);
    response.on('finish', () => crashNow(response));
    send(response, json(202, { accepted: true, ...stateView(), mode: 'crash' }), { connection: 'close' });
    return;
  }
  state = { mode, delayMs };
  log(`fault mode=${mode}${mode === 'slow' ? ` delayMs=${delayMs}` : ''} (was ${previous})`);
  send(response, json(200, stateView()));
}

function crashNow(response) {
  const exit = () => {
    log('exit code=1 reason=crash fault');
    process.exit(1);
  };
  const socket = response.socket;
  if (!socket || socket.destroyed) return exit();
  // The answer is with the kernel; half-close so the client reads it to the end, then go.
  socket.once('close', exit);
  socket.end();
  setTimeout(exit, 100).unref();
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method === 'GET' && url.pathname === '/health') {
    switch (state.mode) {
      case 'hang':
        return; // accepted and never answered
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(response, healthAnswer('healthy'));
        }, state.delayMs);
        timers.add(timer);
        response.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
      case 'error':
        return send(response, brokenModelAnswer());
      default:
        return send(response, healthAnswer(state.mode));
    }
  }
  if (request.method === 'GET' && url.pathname === '/_sim/state') return send(response, json(200, stateView()));
  if (request.method === 'POST' && url.pathname === '/_sim/fault') {
    handleFault(request, response).catch((error) => send(response, json(500, { error: String(error) })));
    return;
  }
  send(response, json(404, { detail: 'Not Found' }));
});

server.on('error', (error) => {
  const line = `${new Date().toISOString()} ${name} ERROR: cannot listen on 127.0.0.1:${port}: ${error.code ?? error.message}; exit 1`;
  process.stderr.write(`${line}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  const modeNote = modeSource === 'default' ? '' : ` mode=${state.mode} (from ${modeSource})`;
  log(`started pid=${process.pid} port=${port} shape=${shape}${watchPid ? ` watch-pid=${watchPid}` : ''}${modeNote}`);
});

// ---- exit paths ----------------------------------------------------------------------------------------------
function shutdown(reason, code) {
  if (exiting) return;
  exiting = true;
  log(`exit code=${code} reason=${reason}`);
  for (const timer of timers) clearTimeout(timer);
  server.close(() => process.exit(code));
  server.closeAllConnections();
  setTimeout(() => process.exit(code), 1_000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM', 0));
process.on('SIGINT', () => shutdown('SIGINT', 0));

/** Alive unless gone or a zombie (a zombie whose parent never reaps it is dead for our purpose). */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) said it exists
  }
}

if (watchPid !== undefined) {
  if (!isAlive(watchPid)) {
    log(`exit code=0 reason=watched pid ${watchPid} is not running at start`);
    process.exit(0);
  }
  setInterval(() => {
    if (!isAlive(watchPid)) shutdown(`watched pid ${watchPid} is gone`, 0);
  }, WATCH_INTERVAL_MS);
}
