import { describe, expect, it } from 'vitest';
import { RUN_LEASES, runExclusive } from '../../../lambdas/use-cases/run-exclusive.ts';
import { createHarness, MINUTE, T0 } from '../../support/harness.ts';

/** A promise the test settles when it wants: the body of a run that is still going. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const run = (holder: string, maxRunMs = MINUTE) => ({ name: RUN_LEASES.probe, holder, maxRunMs });

describe('runExclusive: one run of a kind at a time, by a lease in the control store', () => {
  it('skips a run that starts while the previous one still runs, saying who holds the lease until when', async () => {
    // Prepare: the first run is inside its work.
    const h = createHarness();
    const first = gate();
    const running = runExclusive(h.ctx, run('req-1'), async () => {
      await first.opened;
      return 'first';
    });
    await new Promise((resolve) => setImmediate(resolve));
    h.clock.advance(20_000);
    // Act
    let secondRan = false;
    const second = await runExclusive(h.ctx, run('req-2'), async () => {
      secondRan = true;
    });
    // Assess: the second did nothing but say so.
    const until = new Date(T0 + MINUTE).toISOString();
    const message = `skipped: previous probe cycle still running (lease held by req-1 until ${until})`;
    expect(second).toEqual({ ran: false, skipped: message, heldBy: 'req-1', until });
    expect(secondRan).toBe(false);
    expect(h.logs).toEqual([
      {
        event: 'run-skipped',
        fields: { lease: 'probe', holder: 'req-2', heldBy: 'req-1', until, skipped: message },
      },
    ]);
    first.open();
    expect(await running).toEqual({ ran: true, value: 'first' });
    // The lease is given up at once: the next run starts without waiting for it to lapse.
    expect(await runExclusive(h.ctx, run('req-3'), async () => 'third')).toEqual({ ran: true, value: 'third' });
  });

  it('gives the lease up when the work throws', async () => {
    const h = createHarness();
    await expect(
      runExclusive(h.ctx, run('req-1'), async () => {
        throw new Error('state unavailable');
      }),
    ).rejects.toThrow('state unavailable');
    expect(await runExclusive(h.ctx, run('req-2'), async () => 2)).toEqual({ ran: true, value: 2 });
  });

  it('keeps the next run out no longer than the crashed run could have lasted', async () => {
    // Prepare: a run took the lease for its 50 s and died without giving it up (killed at its timeout).
    const h = createHarness();
    await h.store.acquireLease(RUN_LEASES.probe, 'req-crashed', T0, T0 + 50_000);
    // Act and assess: refused until the lease's end, granted from then on.
    h.clock.advance(49_999);
    expect(await runExclusive(h.ctx, run('req-2'), async () => 2)).toMatchObject({ ran: false, heldBy: 'req-crashed' });
    h.clock.advance(1);
    expect(await runExclusive(h.ctx, run('req-3'), async () => 3)).toEqual({ ran: true, value: 3 });
  });

  it('keeps kinds apart: a drill running does not hold up the backup monitor', async () => {
    const h = createHarness();
    await h.store.acquireLease(RUN_LEASES.backup('drill'), 'req-drill', T0, T0 + 15 * MINUTE);
    const monitor = { name: RUN_LEASES.backup('monitor'), holder: 'req-monitor', maxRunMs: MINUTE };
    expect(await runExclusive(h.ctx, monitor, async () => 'judged')).toEqual({ ran: true, value: 'judged' });
    const drill = { name: RUN_LEASES.backup('drill'), holder: 'req-drill-2', maxRunMs: MINUTE };
    expect(await runExclusive(h.ctx, drill, async () => 'drilled')).toMatchObject({ ran: false });
  });

  it('reports a lease it could not give up, and returns what the work returned', async () => {
    const h = createHarness();
    h.store.releaseLease = async () => {
      throw new Error('throttled');
    };
    expect(await runExclusive(h.ctx, run('req-1'), async () => 1)).toEqual({ ran: true, value: 1 });
    expect(h.logs.map((l) => [l.event, l.fields.error])).toEqual([['lease-release-failed', 'throttled']]);
  });
});
