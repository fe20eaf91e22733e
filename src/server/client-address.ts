/**
 * Which address a request comes from, for the rate limit, the audit actor
 * (`token:NAME@ADDRESS`) and the log.
 *
 * By default it is the TCP peer: a header such as X-Forwarded-For is written by the client
 * and proves nothing. Behind a reverse proxy every request would then come from the proxy,
 * so one client's failures would lock out everyone. `--trusted-proxy CIDR` names the
 * proxies (IPv4 or IPv6 subnets, or single addresses): when the peer is one of them, the
 * client is the right-most X-Forwarded-For entry that is not itself a trusted proxy (each
 * proxy appends the address it got the request from, so entries left of the first untrusted
 * one may be forged). An entry that is not an IP address stops the walk: the request is
 * then taken to come from the trusted proxy that passed it on. Matching uses node's
 * `net.BlockList`.
 *
 * Answers are cached per peer and per header (bounded), so the hot path pays a map lookup.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { CofferError } from '../core/errors.js';

/** Entries of X-Forwarded-For looked at, from the right, at most. */
const MAX_HOPS = 32;
const CACHE_SIZE = 1024;

/** A socket's `remoteAddress` as the audit log and the rate limit name it. */
export function peerAddress(raw: string | undefined): string {
  if (typeof raw !== 'string' || raw === '') return 'unknown';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}

/** An address in one canonical form (IPv4-mapped IPv6 as IPv4, IPv6 compressed), or undefined. */
function canonical(text: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  let a = text.trim();
  if (a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  const version = isIP(a);
  if (version === 4) return { address: a, family: 'ipv4' };
  if (version !== 6 || a.includes('%')) return undefined;
  return { address: new SocketAddress({ address: a, family: 'ipv6' }).address, family: 'ipv6' };
}

/** Parses `--trusted-proxy` values (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
export function trustedProxies(cidrs: readonly string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix, ...rest] = cidr.split('/');
    const parsed = canonical(address);
    const max = parsed?.family === 'ipv4' ? 32 : 128;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (parsed === undefined || rest.length > 0 || bits < 0 || bits > max) {
      throw new CofferError(
        'USAGE',
        `--trusted-proxy must be an IPv4 or IPv6 address or subnet (10.0.0.0/8, fd00::/8), not ${JSON.stringify(cidr)}`,
      );
    }
    list.addSubnet(parsed.address, bits, parsed.family);
  }
  return list;
}

export class ClientAddresses {
  readonly #trusted: BlockList | undefined;
  readonly #peers = new Map<string, boolean>();
  readonly #forwarded = new Map<string, string>();

  /** With no trusted proxies, the client address is always the TCP peer. */
  constructor(trusted?: BlockList) {
    this.#trusted = trusted;
  }

  /** The client address of a request from `remoteAddress` carrying `forwardedFor`. */
  of(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
    const peer = peerAddress(remoteAddress);
    if (this.#trusted === undefined || !this.#isTrusted(peer)) return peer;
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    if (header === undefined || header === '') return peer;
    const key = `${peer} ${header}`;
    let client = this.#forwarded.get(key);
    if (client === undefined) {
      client = this.#walk(peer, header);
      if (this.#forwarded.size >= CACHE_SIZE) this.#forwarded.clear();
      this.#forwarded.set(key, client);
    }
    return client;
  }

  /** From the right: the first entry that is not a trusted proxy (see the header above). */
  #walk(peer: string, header: string): string {
    const hops = header.split(',');
    let current = peer;
    for (let i = hops.length - 1; i >= 0 && i >= hops.length - MAX_HOPS; i--) {
      const hop = canonical(hops[i]!);
      if (hop === undefined) return current;
      current = hop.address;
      if (!this.#isTrusted(current)) return current;
    }
    return current;
  }

  #isTrusted(address: string): boolean {
    let trusted = this.#peers.get(address);
    if (trusted === undefined) {
      const parsed = canonical(address);
      trusted =
        parsed !== undefined && this.#trusted!.check(parsed.address, parsed.family) === true;
      if (this.#peers.size >= CACHE_SIZE) this.#peers.clear();
      this.#peers.set(address, trusted);
    }
    return trusted;
  }
}
