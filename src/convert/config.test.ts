import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectedShapes, intermediateSize, readArchConfig, resolveModelConfig } from './config.ts';
import { ConfigError, ShapeMismatchError } from './errors.ts';
import { PRESETS } from './synth.ts';
import { parseYaml, toYaml } from './yaml.ts';

// The released ARC-AGI-2 checkpoint's config, verbatim (copy of shared/fixtures/seed-config).
const SEED = resolve(import.meta.dirname, 'fixtures/seed-config/all_config.yaml');
const H64 = resolve(import.meta.dirname, 'fixtures/trm-upstream-h64/all_config.yaml');

describe('yaml subset', () => {
  it('parses OmegaConf-style documents: nesting, lists of scalars and of mappings, flow, comments, quotes', () => {
    const doc = parseYaml([
      '# comment', 'a:', '  b: 1 # trailing', '  c:', '    d: "x: y"', "    e: 'it''s'", 'l:', '- 1.5e-4', '- null', '- name: arc@ARC',
      '  extra: true', 'empty: []', 'flow: [1, two, {k: v}]', 'neg: -3', 'str: 0768314952x', 'f: .inf',
    ].join('\n'));
    expect(doc).toEqual({
      a: { b: 1, c: { d: 'x: y', e: "it's" } },
      l: [1.5e-4, null, { name: 'arc@ARC', extra: true }],
      empty: [], flow: [1, 'two', { k: 'v' }], neg: -3, str: '0768314952x', f: Infinity,
    });
  });

  it('round-trips toYaml', () => {
    const v = { arch: { name: 'x@Y', loss: { n: 'l' }, k: 4, f: 0.1, t: true }, data_paths: ['data/a'], e: [] };
    expect(parseYaml(toYaml(v))).toEqual(v);
  });

  it('refuses what it cannot read faithfully, naming the line', () => {
    expect(() => parseYaml('a:\n  b: &anchor 1', 'c.yaml')).toThrow(/c.yaml:2: unsupported/);
    expect(() => parseYaml('a: 1\na: 2', 'c.yaml')).toThrow(/duplicate key "a"/);
    expect(() => parseYaml('a: 1\n    b: 2', 'c.yaml')).toThrow(ConfigError);
  });
});

describe('TRM config from all_config.yaml', () => {
  it('derives the ARC-AGI-2 dimensions from the released config (sorted keys, nested loss, training keys)', async () => {
    const arch = readArchConfig(await readFile(SEED, 'utf8'));
    expect(arch).toMatchObject({ hidden_size: 512, num_heads: 8, expansion: 4, L_layers: 2, H_cycles: 3, L_cycles: 4, halt_max_steps: 16, puzzle_emb_len: 16, puzzle_emb_ndim: 512 });
    // trm-reference §1: SwiGLU 1536 and 6,829,058 trainable values without the puzzle table and init buffers.
    expect(intermediateSize(512, 4)).toBe(1536);
    const shapes = expectedShapes({ hidden_size: 512, L_layers: 2, intermediate_size: 1536, vocab_size: 12, num_puzzle_identifiers: 1_191_730, puzzle_emb_ndim: 512 });
    const count = (k: string) => shapes.get(k)!.reduce((a, b) => a * b, 1);
    expect([...shapes.keys()].filter((k) => !['H_init', 'L_init', 'puzzle_emb.weights'].includes(k)).reduce((s, k) => s + count(k), 0)).toBe(6_829_058);
    expect(shapes.size).toBe(15);
  });

  it('the arc-agi-2 synth preset agrees with the released config', async () => {
    expect(readArchConfig(await readFile(SEED, 'utf8'))).toMatchObject(PRESETS['arc-agi-2'].arch);
  });

  it('reads the fixture config and cross-checks tensor shapes', async () => {
    const arch = readArchConfig(await readFile(H64, 'utf8'));
    expect(intermediateSize(64, 4)).toBe(256);
    const good = new Map([['embed_tokens.embedding_weight', [12, 64]], ['puzzle_emb.weights', [10, 64]], ['L_level.layers.0.mlp.down_proj.weight', [64, 256]]]);
    expect(resolveModelConfig(arch, good, 30)).toMatchObject({ vocab_size: 12, num_puzzle_identifiers: 10, seq_len: 900, intermediate_size: 256 });
    const bad = new Map([...good, ['L_level.layers.0.self_attn.qkv_proj.weight', [96, 64]]]);
    expect(() => resolveModelConfig(arch, bad, 30, 'ck')).toThrow(ShapeMismatchError);
    expect(() => resolveModelConfig(arch, bad, 30, 'ck')).toThrow(/qkv_proj.weight has shape \[96,64\].*implies \[192,64\]/);
  });

  it('learned positions add the [P + seq_len, D] embed_pos table to the expected keys', async () => {
    const arch = readArchConfig((await readFile(H64, 'utf8')).replace('pos_encodings: rope', 'pos_encodings: learned'));
    expect(arch.pos_encodings).toBe('learned');
    const shapes = new Map([['embed_tokens.embedding_weight', [12, 64]], ['puzzle_emb.weights', [10, 64]]]);
    const cfg = resolveModelConfig(arch, shapes, 8);
    expect(cfg.pos_encodings).toBe('learned');
    expect(expectedShapes(cfg).get('embed_pos.embedding_weight')).toEqual([16 + 64, 64]);
    const bad = new Map([...shapes, ['embed_pos.embedding_weight', [900, 64]]]);
    expect(() => resolveModelConfig(arch, bad, 8, 'ck')).toThrow(/embed_pos.embedding_weight has shape \[900,64\].*implies \[80,64\]/);
    // A rope model has no such key (a checkpoint that has one is refused by checkKeys as unexpected).
    expect(expectedShapes(resolveModelConfig(readArchConfig(await readFile(H64, 'utf8')), shapes, 8)).has('embed_pos.embedding_weight')).toBe(false);
  });

  it('refuses unsupported variants and missing fields with the field path', async () => {
    const text = await readFile(H64, 'utf8');
    expect(() => readArchConfig(text.replace('mlp_t: false', 'mlp_t: true'), 'cfg.yaml')).toThrow(/cfg.yaml: arch.mlp_t: true .* not supported/);
    expect(() => readArchConfig(text.replace('recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1', 'hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1'))).toThrow(/arch.name .* not supported/);
    expect(() => readArchConfig(text.replace('pos_encodings: rope', 'pos_encodings: sinusoid'))).toThrow(/pos_encodings "sinusoid" is not supported \(only rope or learned\)/);
    expect(() => readArchConfig(text.replace(/ {2}hidden_size: 64\n/, ''), 'cfg.yaml')).toThrow('cfg.yaml: arch.hidden_size is missing');
    expect(() => readArchConfig(text.replace('num_heads: 4', 'num_heads: 5'))).toThrow(/not divisible/);
    expect(() => readArchConfig('lr: 1', 'x.yaml')).toThrow(/no "arch" mapping/);
  });

  it('puzzle_emb_len 0 means ceil(ndim / hidden), as upstream', async () => {
    const text = (await readFile(H64, 'utf8')).replace('puzzle_emb_len: 16', 'puzzle_emb_len: 0').replace('puzzle_emb_ndim: 64', 'puzzle_emb_ndim: 100');
    expect(readArchConfig(text).puzzle_emb_len).toBe(2);
  });
});
