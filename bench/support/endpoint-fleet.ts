/**
 * A fleet of local HTTP endpoints for the probe fan-out benchmark, run as a child process so the prober's memory
 * figures are its own. One HTTP server serves every port (each port is a plain TCP listener that hands its
 * connections over); every `hangEvery`-th port accepts requests and never answers.
 *
 * argv: <count> <hangEvery>. Reports `{ ports, hanging }` over IPC, then serves until the parent disconnects.
 */
import http from 'node:http';
import net from 'node:net';

const count = Number(process.argv[2] ?? 1_000);
const hangEvery = Number(process.argv[3] ?? 10);

const hanging = new Set<number>();
const app = http.createServer((request, response) => {
  if (hanging.has(request.socket.localPort ?? -1)) return;
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"status":"healthy"}');
});

const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const listener = net.createServer((socket) => app.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('listener has no TCP address');
  ports.push(address.port);
  if (i % hangEvery === hangEvery - 1) hanging.add(address.port);
}

process.send?.({ ports, hanging: [...hanging] });
// The parent going away (normally or not) closes the IPC channel: leave with it.
process.on('disconnect', () => process.exit(0));
