import { ControlPlaneError } from './errors.ts';

/** A lease name or holder: what the stores key on and print; short, printable, no separators of the store's keys. */
const LEASE_TEXT = /^[A-Za-z0-9._:@/-]{1,200}$/;

/**
 * The checks every state store makes before it takes a lease (`ControlStore.acquireLease`), so that all of them refuse
 * the same bad input with the same message naming the field.
 */
export function checkLeaseRequest(name: string, holder: string, now: number, until: number): void {
  if (!LEASE_TEXT.test(name))
    throw new ControlPlaneError('INVALID_LEASE', `lease name ${JSON.stringify(name)} must match ${LEASE_TEXT.source}`);
  if (!LEASE_TEXT.test(holder))
    throw new ControlPlaneError(
      'INVALID_LEASE',
      `lease holder ${JSON.stringify(holder)} (lease ${name}) must match ${LEASE_TEXT.source}`,
    );
  for (const [field, value] of [
    ['now', now],
    ['until', until],
  ] as const)
    if (!Number.isSafeInteger(value) || value < 0)
      throw new ControlPlaneError('INVALID_LEASE', `lease ${name}: ${field} ${value} is not epoch milliseconds`);
  if (until <= now)
    throw new ControlPlaneError('INVALID_LEASE', `lease ${name}: until (${until}) must be after now (${now})`);
}
