import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { runRecursion } from '../engine/recursion.ts';
import { openSessions } from '../engine/sessions.ts';
import { convertCheckpoint, memorySink, type ConvertOptions } from './convert.ts';
import { openCheckpoint, readTensor, writeCheckpoint, type TensorToWrite } from './checkpoint.ts';
import {
  ConvertError, IdentifiersError, KeyMismatchError, NotACheckpointError, NotAZipError, OptionsError, ShapeMismatchError, TruncatedFileError, UnsupportedDtypeError,
} from './errors.ts';
import { bytesSource } from './source.ts';
import { PRESETS, synthesize } from './synth.ts';
import { openZip, writeStoredZip } from './zip.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const FIX = resolve(import.meta.dirname, 'fixtures/trm-upstream-h64');
const concat = (chunks: Uint8Array[]) => Uint8Array.from(Buffer.concat(chunks));
const tmp = await mkdtemp(join(tmpdir(), 'trm-convert-test-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const fixtureBytes = new Uint8Array(await readFile(join(FIX, 'step_0')));
const fixtureYaml = await readFile(join(FIX, 'all_config.yaml'), 'utf8');

/** Re-zips the fixture with some entries changed (null drops an entry). */
async function rezip(patch: (name: string, data: Uint8Array) => Uint8Array | null): Promise<Uint8Array> {
  const zip = await openZip(bytesSource(fixtureBytes, 'step_0'));
  const files: { name: string; data: Uint8Array }[] = [];
  for (const e of zip.entries) {
    const data = patch(e.name, await zip.read(e));
    if (data) files.push({ name: e.name, data });
  }
  return concat(writeStoredZip(files));
}

/** data.pkl with text replaced (GLOBAL names are newline-terminated, so lengths may change). */
const patchPickle = (from: string, to: string) => (name: string, data: Uint8Array) =>
  name.endsWith('data.pkl') ? new Uint8Array(Buffer.from(Buffer.from(data).toString('latin1').replace(from, to), 'latin1')) : data;

/** The fixture's tensors, filtered, plus extra keys, written by our torch-format writer. */
async function rewrite(keep: (key: string) => boolean, extra: string[] = []): Promise<Uint8Array> {
  const ck = await openCheckpoint(bytesSource(fixtureBytes, 'step_0'));
  const tensors: TensorToWrite[] = [];
  for (const [k, t] of ck.tensors) if (keep(k)) tensors.push({ key: ck.prefix + k, dtype: t.dtype, shape: t.shape, data: await readTensor(ck, t) });
  for (const k of extra) tensors.push({ key: ck.prefix + k, dtype: 'float32', shape: [1], data: new Float32Array(1) });
  return concat(writeCheckpoint('step_0', tensors));
}

function options(bytes: Uint8Array, extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return { checkpoint: bytesSource(bytes, 'ckpt'), config: { text: fixtureYaml, name: 'all_config.yaml' }, ...extra };
}

describe('bad input gets a specific error', () => {
  const cases: [string, () => Promise<ConvertOptions>, new (...a: never[]) => ConvertError, RegExp][] = [
    ['not a zip', async () => options(new TextEncoder().encode('just text, not a checkpoint')), NotAZipError, /not a zip/],
    ['zip without data.pkl', async () => options(await rezip((n, d) => (n.endsWith('data.pkl') ? null : d))), NotACheckpointError, /no data.pkl/],
    ['truncated file', async () => options(fixtureBytes.subarray(0, 400_000)), TruncatedFileError, /truncated/],
    ['missing key', async () => options(await rewrite((k) => k !== 'lm_head.weight')), KeyMismatchError, /missing _orig_mod.model.inner.lm_head.weight$/],
    ['extra key', async () => options(await rewrite(() => true, ['L_level.layers.2.mlp.down_proj.weight'])), KeyMismatchError, /unexpected _orig_mod.model.inner.L_level.layers.2.mlp.down_proj.weight$/],
    ['unknown dtype', async () => options(await rezip(patchPickle('torch\nBFloat16Storage', 'torch\nDoubleStorage'))), UnsupportedDtypeError, /H_init" has dtype Double/],
    ['shape contradicting the config', async () => ({ ...options(fixtureBytes), config: { text: fixtureYaml.replace('hidden_size: 64', 'hidden_size: 32').replace('puzzle_emb_ndim: 64', 'puzzle_emb_ndim: 32'), name: 'cfg' } }), ShapeMismatchError, /shape \[64\], but all_config.yaml .* implies \[32\]/],
    ['identifiers of another build', async () => options(fixtureBytes, { identifiers: { text: JSON.stringify(['<blank>', 'a', 'b']), name: 'ids.json' }, taskIds: ['a'] }), IdentifiersError, /ids.json: has 3 names but .* 10 rows/],
    ['task ids absent from identifiers', async () => options(fixtureBytes, { identifiers: { text: JSON.stringify(['<blank>', ...Array.from({ length: 9 }, (_, i) => `t${i}`)]), name: 'ids.json' }, taskIds: ['t1', 'nope'] }), IdentifiersError, /1 task id\(s\) have no embedding rows: nope/],
    ['tasks without identifiers', async () => options(fixtureBytes, { taskIds: ['a'] }), OptionsError, /needs --identifiers/],
  ];
  for (const [what, make, cls, msg] of cases) {
    it(what, async () => {
      const sink = memorySink();
      const err = await convertCheckpoint(await make(), sink).catch((e) => e);
      expect(err).toBeInstanceOf(cls);
      expect(err.message).toMatch(msg);
    });
  }

});

describe('CLI failures exit non-zero and leave no output directory', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/trm.js'), ...args], { cwd: ROOT, encoding: 'utf8' });

  it('truncated checkpoint', async () => {
    const bad = join(tmp, 'cut_ckpt');
    await writeFile(bad, fixtureBytes.subarray(0, 300_000));
    const r = run(['convert', bad, '--config', join(FIX, 'all_config.yaml'), '--out', join(tmp, 'out1')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TruncatedFileError: cut_ckpt: truncated/);
    expect((await readdir(tmp)).filter((n) => n.startsWith('out1'))).toEqual([]);
  });

  it('a failure after graphs were written (puzzle table storage too short)', async () => {
    const bad = join(tmp, 'short_table');
    // data/6 is the puzzle table; shorten its storage so reading it fails mid-conversion.
    await writeFile(bad, await rezip((n, d) => (n.endsWith('/data/6') ? d.subarray(0, 100) : d)));
    const r = run(['convert', bad, '--config', join(FIX, 'all_config.yaml'), '--out', join(tmp, 'out2'), '--table']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ShapeMismatchError: .*puzzle_emb.weights.* needs 2560 bytes/);
    expect((await readdir(tmp)).filter((n) => n.startsWith('out2'))).toEqual([]);
  });
});

describe('puzzle rows by identifiers (tiny synthetic model)', () => {
  it('selects the original plus K variants per task, records tid/perm, and rows equal the table', async () => {
    const s = synthesize(PRESETS.tiny, 5);
    const ids = JSON.stringify(s.identifiers);
    let printed = '';
    const sink = memorySink();
    const m = await convertCheckpoint({
      checkpoint: bytesSource(concat(s.checkpoint), 'step_0'), config: { text: s.configYaml, name: 'all_config.yaml' }, gridSize: 6,
      identifiers: { text: ids, name: 'identifiers.json' }, taskIds: ['tiny-b'], variants: 1, table: true,
      onIdentifiersHash: (h) => { printed = h; },
    }, sink);
    expect(printed).toBe(createHash('sha256').update(ids).digest('hex'));
    expect(m.puzzles.identifiers_sha256).toBe(printed);
    const t = m.puzzles.tasks['tiny-b'];
    expect(t.variants.map((v) => v.name)).toEqual([s.identifiers[4], s.identifiers[5]]);
    expect(t.variants[0]).toMatchObject({ tid: 0, perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], row: 0 });
    const [, tid, perm] = s.identifiers[5].split('|||');
    expect(t.variants[1]).toMatchObject({ tid: Number(tid.slice(1)), perm: [...perm].map(Number), row: 1 });
    const f32 = (p: string) => new Float32Array(Uint8Array.from(sink.files.get(p)!).buffer);
    const table = f32('puzzles/table.bin'), rows = f32(t.path);
    expect([...rows]).toEqual([...table.slice(4 * 16, 6 * 16)]);
    expect([...table.slice(0, 16)].every((x) => x === 0)).toBe(true); // blank row
    // Every listed file has its true size and sha256.
    for (const f of m.files) {
      expect(sink.files.get(f.path)!.length).toBe(f.bytes);
      expect(createHash('sha256').update(sink.files.get(f.path)!).digest('hex')).toBe(f.sha256);
    }
    expect(m.puzzles.blank).toBe(true);
  });
});

describe('graphs', () => {
  it('the fused step graph equals one ACT step of embed + block loop + readout', async () => {
    const s = synthesize(PRESETS.tiny, 3);
    const sink = memorySink();
    const m = await convertCheckpoint({ checkpoint: bytesSource(concat(s.checkpoint), 'step_0'), config: { text: s.configYaml, name: 'c' }, gridSize: 6, step: true, table: true }, sink);
    const read = async (p: string) => sink.files.get(p)!;
    const sessions = await openSessions(ort, m, read);
    const c = m.config, B = 2;
    const tokens = Int32Array.from({ length: B * c.seq_len }, (_, i) => 2 + ((i * 7) % 10));
    const table = new Float32Array(Uint8Array.from(sink.files.get('puzzles/table.bin')!).buffer);
    const puzzle = Float32Array.from([...table.slice(16, 32), ...table.slice(0, 16)]);
    const loop = await runRecursion(ort, sessions, { config: c, batch: B, tokens, puzzle, steps: 1, frames: 'act' });
    const step = await ort.InferenceSession.create(await read(m.graphs.step!.fp32!));
    const emb = await sessions.embed.run({ tokens: new ort.Tensor('int32', tokens, [B, c.seq_len]), puzzle: new ort.Tensor('float32', puzzle, [B, 16]) });
    const r = await step.run({ tokens: new ort.Tensor('int32', tokens, [B, c.seq_len]), puzzle: new ort.Tensor('float32', puzzle, [B, 16]), z_H: emb.z_H, z_L: emb.z_L });
    expect([...(r.grid.data as Uint8Array)]).toEqual([...loop.last.grid]);
    const q = r.q_halt.data as Float32Array;
    for (let b = 0; b < B; b++) expect(Math.abs(q[b] - loop.last.qHalt[b])).toBeLessThan(1e-5);
    expect(r.z_H_out.dims).toEqual([B, c.puzzle_emb_len + c.seq_len, c.hidden_size]);
  });
});

describe('isomorphic converter', () => {
  it('modules outside node-*.ts import no Node APIs (the browser runs them on a File)', async () => {
    const dir = import.meta.dirname;
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.ts') && !n.startsWith('node-') && !n.includes('.test.'))) {
      expect(await readFile(join(dir, f), 'utf8'), f).not.toMatch(/from 'node:|require\(/);
    }
  });
});
