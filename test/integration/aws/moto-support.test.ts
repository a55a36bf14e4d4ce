import { describe, expect, it } from 'vitest';
import { startMotoServer } from '../../support/moto.ts';

describe('moto test support', () => {
  it('fails naming the missing server and how to install it when it is not on PATH', async () => {
    await expect(startMotoServer({ command: 'moto_server_not_installed' })).rejects.toThrow(
      /moto_server_not_installed is not on PATH: .*moto\[server\]==5\.2\.1/,
    );
  });

  it('fails with the exit status when the server ends before answering', async () => {
    await expect(startMotoServer({ command: 'false' })).rejects.toThrow(/false exited \(code 1\) before answering/);
  });

  it('starts a server that answers on 127.0.0.1, and stops it', async () => {
    const server = await startMotoServer();
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.endpoint}/moto-api/`)).ok).toBe(true);
    await server.stop();
    await expect(fetch(`${server.endpoint}/moto-api/`)).rejects.toThrow();
  });
});
