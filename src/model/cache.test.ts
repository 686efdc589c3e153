import { describe, expect, test } from 'vitest';
import { MemoryStore, ResilientStore, type FileStore } from './cache.ts';

/** An IndexedDB stand-in that is full: every write fails as a browser's does at quota. */
class FullStore extends MemoryStore implements FileStore {
  override async set(): Promise<void> {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  }
}

const bytes = (n: number) => new Uint8Array(n).fill(7);

describe('ResilientStore', () => {
  test('without IndexedDB (Node, private mode) it keeps files in memory and says so once', async () => {
    const reasons: string[] = [];
    const store = new ResilientStore((r) => reasons.push(r));
    expect(typeof indexedDB).toBe('undefined');
    expect(store.kind).toBe('memory');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/IndexedDB is not available/);
    await store.set('sha256:a', bytes(10), 'a.onnx');
    expect(await store.get('sha256:a')).toEqual(bytes(10));
    expect(await store.clear()).toEqual({ files: 1, bytes: 10 });
    expect(await store.get('sha256:a')).toBeUndefined();
  });

  test('a QuotaExceededError switches to memory, keeps the file usable and reports the quota', async () => {
    const reasons: string[] = [];
    const store = new ResilientStore((r) => reasons.push(r), new FullStore());
    await store.set('sha256:b', bytes(5), 'b.onnx');
    expect(store.kind).toBe('memory');
    expect(reasons).toEqual([expect.stringMatching(/storage quota is full.*kept in memory/)]);
    expect(await store.get('sha256:b')).toEqual(bytes(5));
    await store.set('sha256:c', bytes(3), 'c.onnx');
    expect(reasons).toHaveLength(1);
    expect(await store.status()).toEqual({ files: 2, bytes: 8 });
  });
});
