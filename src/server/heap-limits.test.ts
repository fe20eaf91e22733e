import { describe, expect, it } from 'vitest';
import { boundHeap, type HeapControl } from './heap-limits.js';

const MiB = 1024 * 1024;

/** A fake V8: records flags, lets the test set the young generation's size and run GCs. */
function fakeV8(flags = '') {
  const set: string[] = [];
  let young = 2 * MiB;
  let observer: (() => void) | undefined;
  const control: HeapControl = {
    setFlags: (f) => set.push(f),
    youngSize: () => young,
    afterGc(fn) {
      observer = fn;
      return () => {
        observer = undefined;
      };
    },
    nodeFlags: () => flags,
  };
  return {
    control,
    set,
    observing: () => observer !== undefined,
    gcAt(size: number) {
      young = size;
      observer?.();
    },
  };
}

describe('boundHeap', () => {
  it('bounds old-generation growth at once and stops young-generation growth at the cap', () => {
    const v8 = fakeV8();
    expect(boundHeap({ youngMiB: 8, oldGrowthPercent: 20 }, v8.control)).toEqual({
      youngMiB: 8,
      oldGrowthPercent: 20,
    });
    expect(v8.set).toEqual(['--heap-growing-percent=20']);
    v8.gcAt(4 * MiB);
    expect(v8.set).toHaveLength(1);
    v8.gcAt(8 * MiB);
    expect(v8.set).toEqual(['--heap-growing-percent=20', '--semi-space-growth-factor=1']);
    // Done: later collections are not watched any more.
    expect(v8.observing()).toBe(false);
  });

  it('stops growth at once when the young generation is already at the cap', () => {
    const v8 = fakeV8();
    v8.gcAt(16 * MiB);
    boundHeap({}, v8.control);
    expect(v8.set).toEqual(['--heap-growing-percent=20', '--semi-space-growth-factor=1']);
    expect(v8.observing()).toBe(false);
  });

  it("leaves the heap alone when node's own flags set it", () => {
    for (const flags of ['--max-semi-space-size=32', ' --heap-growing-percent=50']) {
      const v8 = fakeV8(flags);
      expect(boundHeap({}, v8.control)).toBeUndefined();
      expect(v8.set).toEqual([]);
      expect(v8.observing()).toBe(false);
    }
  });

  it('works against the real V8 of this process', () => {
    // Sets real flags: the values are V8's own kind of setting, harmless for the test run.
    expect(boundHeap({ youngMiB: 64, oldGrowthPercent: 100 })).toEqual({
      youngMiB: 64,
      oldGrowthPercent: 100,
    });
  });
});
