/**
 * Loopback names: the addresses that never leave this machine (127.0.0.0/8, ::1,
 * localhost). Plain HTTP is allowed to them only, and a page built from a caller's Host
 * header is trusted only for them.
 */

/** True for `localhost`, `::1` (bracketed or not) and 127.x.y.z; any letter case. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
