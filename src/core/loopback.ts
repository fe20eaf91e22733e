/**
 * Loopback names: the addresses that never leave this machine (127.0.0.0/8, ::1,
 * localhost). Plain HTTP is allowed to them only, and a page built from a caller's Host
 * header is trusted only for them.
 */
import { randomBytes } from 'node:crypto';

/** True for `localhost`, `::1` (bracketed or not) and 127.x.y.z; any letter case. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A loopback address of its own for a local web page that keeps a session cookie: a random
 * 127.x.y.z other than 127.0.0.1. Browsers scope cookies by host name, not port, so a
 * cookie set by a page on 127.0.0.1 goes to every other server the browser visits there
 * (a dev server's request log, say), and that cookie alone is a session. On Linux all of
 * 127.0.0.0/8 answers; where only 127.0.0.1 does (macOS), binding it fails with
 * EADDRNOTAVAIL and the caller falls back to 127.0.0.1.
 */
export function privateLoopbackHost(random: (n: number) => Buffer = randomBytes): string {
  const [a, b, c] = random(3);
  // 127.0.0.1 and the network and broadcast forms stay out: x in 1..254 keeps it plain.
  return `127.${1 + (a! % 254)}.${b}.${1 + (c! % 254)}`;
}
