/**
 * Golden test: convert an upstream checkpoint fixture, run every ACT step
 * through the engine loop with onnxruntime-node and compare with the
 * upstream model's outputs. Everything (dimensions, cycles, prefix, steps,
 * batch) is derived from the fixture, so any directory in the same format
 * works: TRM_GOLDEN_DIR=/path/to/fixture npm run test:golden
 * Without it: upstream's own fixture (RoPE) and trm-learned-h32 (learned positions,
 * written by src/convert/fixtures/make_fixture.py --pos-encodings learned).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../convert/convert.ts';
import { fileSource } from '../convert/node-source.ts';
import { writeModelDir } from '../convert/node-sink.ts';
import { expectFramesMatch, f32, fixtureCheckpoint, i32, runActSteps } from './golden-compare.ts';
import { loadModelDir, tableRows } from './node-runtime.ts';

const FIXTURES = process.env.TRM_GOLDEN_DIR
  ? [resolve(process.env.TRM_GOLDEN_DIR)]
  : ['trm-upstream-h64', 'trm-learned-h32'].map((n) => resolve(import.meta.dirname, '../convert/fixtures', n));

interface Expected {
  batch: number;
  seq_len: number;
  vocab: number;
  act_steps: number;
  key_prefix: string;
  config: Record<string, number>;
  steps: { argmax: number[][]; q_halt: number[]; q_continue: number[] }[];
}

for (const FIXTURE of FIXTURES) describe(`golden fixture ${FIXTURE}`, async () => {
  const expected = JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
  const ckptName = await fixtureCheckpoint(FIXTURE);
  const out = await mkdtemp(join(tmpdir(), 'trm-golden-'));
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('runs all ACT steps in fp32 and matches upstream', async () => {
    expect(ckptName, `no checkpoint file in ${FIXTURE}`).toBeDefined();
    const gridSize = Math.round(Math.sqrt(expected.seq_len));
    expect(gridSize * gridSize).toBe(expected.seq_len);
    const src = await fileSource(join(FIXTURE, ckptName!));
    const modelDir = join(out, 'model');
    const manifest = await writeModelDir(modelDir, false, async (sink) => convertCheckpoint({
      checkpoint: src,
      config: { text: await readFile(join(FIXTURE, 'all_config.yaml'), 'utf8'), name: 'all_config.yaml' },
      gridSize,
      table: true,
    }, sink)).finally(() => src.close());

    // The converter must have read the same model the fixture describes.
    expect(manifest.source.key_prefix).toBe(expected.key_prefix);
    for (const [k, v] of Object.entries(expected.config)) expect(manifest.config[k as keyof typeof manifest.config], k).toBe(v);
    expect(manifest.config.vocab_size).toBe(expected.vocab);

    const model = await loadModelDir(modelDir, 'fp32');
    const c = model.manifest.config;
    const B = expected.batch;
    const ids = [...i32(await readFile(join(FIXTURE, 'puzzle_ids.bin')))];
    expect(ids.length).toBe(B);
    const frames = await runActSteps(model, B, i32(await readFile(join(FIXTURE, 'inputs.bin'))), await tableRows(model, ids), expected.act_steps);

    expectFramesMatch(frames, expected, {
      seqLen: c.seq_len, vocab: c.vocab_size, label: 'golden',
      logitsFirst: f32(await readFile(join(FIXTURE, 'logits_first.bin'))),
      logitsLast: f32(await readFile(join(FIXTURE, 'logits_last.bin'))),
    });
  });
});
