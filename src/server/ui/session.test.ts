/**
 * The web UI's session store: bounded per token and in all, without one holder's logins
 * ending another holder's sessions.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_SESSIONS,
  MAX_SESSIONS_PER_OWNER,
  type Session,
  type SessionOwner,
  SessionStore,
} from './session.js';

const token = (name: string): SessionOwner => ({ kind: 'token', header: `Bearer ${name}` });

describe('SessionStore', () => {
  it('10,000+ logins with one token never end another token’s session', () => {
    const store = new SessionStore();
    const admin = store.create(token('admin'));
    const first = store.create(token('narrow'));
    const latest: Session[] = [];
    for (let i = 0; i < MAX_SESSIONS + 50; i++) {
      latest.push(store.create(token('narrow')));
      if (latest.length > MAX_SESSIONS_PER_OWNER) latest.shift();
    }
    expect(store.get(admin.id)).toBe(admin);
    // The token's own oldest sessions went; its newest ones are kept.
    expect(store.get(first.id)).toBeUndefined();
    expect(latest.map((s) => store.get(s.id))).toEqual(latest);
    expect(store.size).toBe(1 + MAX_SESSIONS_PER_OWNER);
  });

  it('the same token string is one owner, whichever login made the owner object', () => {
    const store = new SessionStore();
    const sessions = Array.from({ length: MAX_SESSIONS_PER_OWNER + 1 }, () =>
      store.create(token('same')),
    );
    expect(store.get(sessions[0]!.id)).toBeUndefined();
    expect(store.get(sessions[1]!.id)).toBe(sessions[1]);
    // Ending the token's sessions ends all of them, and no other owner's.
    const other = store.create({ kind: 'local', policy: undefined as never, actor: 'cli:me' });
    store.deleteOwner(token('same'));
    expect(sessions.map((s) => store.get(s.id))).toEqual(sessions.map(() => undefined));
    expect(store.get(other.id)).toBe(other);
    expect(store.size).toBe(1);
  });

  it('when full: expired sessions go first, then the oldest of the owner holding the most', () => {
    let now = 0;
    const store = new SessionStore({ ttlMs: 1000, now: () => now });
    // Many owners with few sessions, then one with the most (all within the per-owner cap).
    const early = store.create(token('early'));
    now = 500;
    const small: Session[] = [];
    for (let i = 0; store.size < MAX_SESSIONS - MAX_SESSIONS_PER_OWNER; i++) {
      small.push(store.create(token(`t${Math.floor(i / 2)}`)));
    }
    const big: Session[] = [];
    for (let i = 0; i < MAX_SESSIONS_PER_OWNER; i++) big.push(store.create(token('big')));
    expect(store.size).toBe(MAX_SESSIONS);
    // `early` has expired: the next login takes its place, and nothing else goes.
    now = 1000;
    const a = store.create(token('newcomer'));
    expect(store.get(early.id)).toBeUndefined();
    expect(store.size).toBe(MAX_SESSIONS);
    expect(store.get(big[0]!.id)).toBe(big[0]);
    // Full with nothing expired: the owner holding the most gives up its oldest.
    const b = store.create(token('newcomer'));
    expect(store.get(big[0]!.id)).toBeUndefined();
    expect(store.get(big[1]!.id)).toBe(big[1]);
    expect([a, b, small[0], small.at(-1)].map((s) => store.get(s!.id))).toEqual([
      a,
      b,
      small[0],
      small.at(-1),
    ]);
    expect(store.size).toBe(MAX_SESSIONS);
  });
});
