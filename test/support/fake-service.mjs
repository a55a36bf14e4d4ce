#!/usr/bin/env node
// A stand-in ACGS service for the SSM document tests: answers GET /health with {"status":"healthy"} and its pid
// and working directory.
//   --port N           port to listen on (127.0.0.1)
//   --pid-dir DIR      writes DIR/<pid> so the tests can clean up every process they caused
//   --ignore-term      ignores SIGTERM (to exercise the SIGKILL path)
//   --status S         reports S instead of healthy (e.g. unhealthy, still with HTTP 200)
//   --fail-on-start    prints an error and exits 3 at once (a service that cannot start)
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const flag = (name) => args.includes(name);

const pidDir = option('--pid-dir');
if (pidDir) {
  mkdirSync(pidDir, { recursive: true });
  writeFileSync(join(pidDir, String(process.pid)), '');
}
console.log(`fake-service pid ${process.pid} starting in ${process.cwd()}`);
if (flag('--fail-on-start')) {
  console.error('fatal: cannot connect to database acgs_pgp_db (connection refused)');
  process.exit(3);
}
const port = Number(option('--port'));
if (!Number.isInteger(port) || port < 1) {
  console.error('fake-service: --port N is required');
  process.exit(64);
}
if (flag('--ignore-term')) process.on('SIGTERM', () => console.log('fake-service: SIGTERM ignored'));
const status = option('--status') ?? 'healthy';

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status, service: 'fake', pid: process.pid, cwd: process.cwd() }));
  } else {
    res.writeHead(404).end();
  }
});
server.listen(port, '127.0.0.1', () => console.log(`fake-service listening on 127.0.0.1:${port}`));
