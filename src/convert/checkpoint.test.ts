import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint, readRows, readTensor, writeCheckpoint } from './checkpoint.ts';
import { bytesSource } from './source.ts';

const SMALL = resolve(import.meta.dirname, 'fixtures/torch-small.pt');
const concat = (chunks: Uint8Array[]) => Uint8Array.from(Buffer.concat(chunks));

describe('torch checkpoint reader', () => {
  // torch-small.pt was written by torch.save (make_fixture.py --small): an OrderedDict with
  // _metadata (pickle BUILD), views sharing one storage, bf16 and fp16.
  it('honours strides, storage offsets and dtypes of a real torch.save file', async () => {
    const ck = await openCheckpoint(bytesSource(new Uint8Array(await readFile(SMALL)), 'torch-small.pt'));
    expect(ck.prefix).toBe('_orig_mod.model.inner.');
    const base = Array.from({ length: 24 }, (_, i) => i / 8);
    const t = (k: string) => ck.tensors.get(k)!;
    expect([...(await readTensor(ck, t('plain')))]).toEqual(base);
    expect(t('transposed').shape).toEqual([6, 4]);
    expect([...(await readTensor(ck, t('transposed')))]).toEqual(Array.from({ length: 24 }, (_, i) => base[(i % 4) * 6 + Math.floor(i / 4)]));
    expect(t('rows').storageOffset).toBe(6);
    expect([...(await readTensor(ck, t('rows')))]).toEqual(base.slice(6, 18));
    expect([...(await readRows(ck, t('rows'), [1, 0]))]).toEqual([...base.slice(12, 18), ...base.slice(6, 12)]);
    expect([...(await readRows(ck, t('transposed'), [2]))]).toEqual([2, 8, 14, 20].map((i) => base[i]));
    expect(t('bf16').dtype).toBe('bfloat16');
    expect([...(await readTensor(ck, t('bf16')))]).toEqual([1.5, -2.25, 0.0030059814453125]); // 3e-3 rounded to bf16
    expect(t('half').dtype).toBe('float16');
    expect([...(await readTensor(ck, t('half')))]).toEqual([0.5, -65504, 5.960464477539063e-8]);
  });

  it('round-trips the writer (prefixes, all dtypes) and reads rows without the rest of the table', async () => {
    const table = Float32Array.from({ length: 50 * 8 }, (_, i) => i - 17.25);
    const bytes = concat(writeCheckpoint('step_9', [
      { key: 'model.inner.puzzle_emb.weights', dtype: 'float32', shape: [50, 8], data: table },
      { key: 'model.inner.H_init', dtype: 'bfloat16', shape: [3], data: Float32Array.of(1, -0.5, 3.140625) },
      { key: 'model.inner.L_init', dtype: 'float16', shape: [2], data: Float32Array.of(0.25, 1000) },
    ]));
    const reads: [number, number][] = [];
    const src = bytesSource(bytes, 'step_9');
    const ck = await openCheckpoint({ ...src, read: (o, n) => { reads.push([o, n]); return src.read(o, n); } });
    expect(ck.prefix).toBe('model.inner.');
    expect([...(await readTensor(ck, ck.tensors.get('H_init')!))]).toEqual([1, -0.5, 3.140625]);
    expect([...(await readTensor(ck, ck.tensors.get('L_init')!))]).toEqual([0.25, 1000]);
    reads.length = 0;
    const rows = await readRows(ck, ck.tensors.get('puzzle_emb.weights')!, [40, 3, 4]);
    expect([...rows]).toEqual([...table.slice(320, 328), ...table.slice(24, 40)]);
    // Only the requested rows' bytes were read (plus local headers), never the table.
    expect(reads.reduce((s, [, n]) => s + n, 0)).toBeLessThan(3 * 8 * 4 + 2 * 30 + 200);
  });
});
