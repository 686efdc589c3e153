/**
 * Each op's vector-Jacobian product against central finite differences of the
 * same graph's loss, run with onnxruntime-node on tiny graphs: loss = Σ y·W for
 * a fixed random W, so every output element gets a distinct upstream gradient.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { differentiate, GradError } from './grad.ts';
import { DataType, GraphBuilder, type Dim } from './onnx.ts';
import { gaussian } from './synth.ts';

interface Case {
  name: string;
  /** Input shapes; a string dim is symbolic and fed as 2. */
  inputs: Dim[][];
  /** Inputs sampled in [lo, hi] (positive for Sqrt, Log, Div…). */
  range?: [number, number];
  build: (g: GraphBuilder, x: string[]) => string;
}

const i64 = (g: GraphBuilder, v: number[]) => g.i64(v);
const CASES: Case[] = [
  { name: 'Add broadcast', inputs: [['b', 3, 4], [3, 1]], build: (g, [a, b]) => g.o('Add', [a, b]) },
  { name: 'Sub broadcast', inputs: [[2, 3, 4], [1, 4]], build: (g, [a, b]) => g.o('Sub', [a, b]) },
  { name: 'Mul broadcast', inputs: [['b', 3, 4], ['b', 3, 1]], build: (g, [a, b]) => g.o('Mul', [a, b]) },
  { name: 'Div', inputs: [[2, 3], [2, 1]], range: [0.5, 2], build: (g, [a, b]) => g.o('Div', [a, b]) },
  { name: 'Mul by itself', inputs: [[2, 5]], build: (g, [a]) => g.o('Mul', [a, a]) },
  { name: 'Neg', inputs: [[2, 3]], build: (g, [a]) => g.o('Neg', [a]) },
  { name: 'Sqrt', inputs: [[2, 3]], range: [0.5, 2], build: (g, [a]) => g.o('Sqrt', [a]) },
  { name: 'Reciprocal', inputs: [[2, 3]], range: [0.5, 2], build: (g, [a]) => g.o('Reciprocal', [a]) },
  { name: 'Exp', inputs: [[2, 3]], build: (g, [a]) => g.o('Exp', [a]) },
  { name: 'Log', inputs: [[2, 3]], range: [0.5, 2], build: (g, [a]) => g.o('Log', [a]) },
  { name: 'Sigmoid', inputs: [[2, 3]], build: (g, [a]) => g.o('Sigmoid', [a]) },
  { name: 'Softplus', inputs: [[2, 3]], build: (g, [a]) => g.o('Softplus', [a]) },
  { name: 'Relu', inputs: [[2, 4]], build: (g, [a]) => g.o('Relu', [a]) },
  { name: 'Softmax', inputs: [['b', 3, 5]], build: (g, [a]) => g.o('Softmax', [a], { axis: -1 }) },
  { name: 'LogSoftmax', inputs: [[2, 3, 5]], build: (g, [a]) => g.o('LogSoftmax', [a], { axis: -1 }) },
  { name: 'MatMul weight', inputs: [['b', 3, 4], [4, 5]], build: (g, [a, b]) => g.o('MatMul', [a, b]) },
  { name: 'MatMul batched', inputs: [[2, 2, 3, 4], [2, 2, 4, 3]], build: (g, [a, b]) => g.o('MatMul', [a, b]) },
  { name: 'Transpose', inputs: [[2, 3, 4]], build: (g, [a]) => g.o('Transpose', [a], { perm: [2, 0, 1] }) },
  { name: 'Reshape', inputs: [['b', 3, 4]], build: (g, [a]) => g.o('Reshape', [a, i64(g, [0, 3, 2, 2])]) },
  {
    name: 'Split (one output unused) + Concat',
    inputs: [[2, 3, 6]],
    build: (g, [a]) => {
      const [p, , r] = g.op('Split', [a, i64(g, [2, 1, 3])], { axis: -1 }, { outputs: 3 });
      return g.o('Concat', [g.o('Neg', [r]), p, r], { axis: -1 });
    },
  },
  { name: 'ReduceMean keepdims', inputs: [[2, 3, 4]], build: (g, [a]) => g.o('ReduceMean', [a], { axes: [-1], keepdims: 1 }) },
  { name: 'ReduceSum', inputs: [[2, 3, 4]], build: (g, [a]) => g.o('ReduceSum', [a, i64(g, [1])], { keepdims: 0 }) },
  { name: 'Slice', inputs: [['b', 5, 2]], build: (g, [a]) => g.o('Slice', [a, i64(g, [1]), i64(g, [4]), i64(g, [1])]) },
  { name: 'Gather scalar index', inputs: [['b', 4, 3]], build: (g, [a]) => g.o('Gather', [a, g.init('idx', DataType.INT64, [], new Uint8Array(new BigInt64Array([2n]).buffer))], { axis: 1 }) },
  { name: 'Pad', inputs: [['b', 3]], build: (g, [a]) => g.o('Pad', [a, i64(g, [0, 1, 0, 4])]) },
  { name: 'Unsqueeze', inputs: [[2, 3]], build: (g, [a]) => g.o('Unsqueeze', [a, i64(g, [1])]) },
  { name: 'Expand', inputs: [[3, 1]], build: (g, [a]) => g.o('Expand', [a, i64(g, [2, 3, 4])]) },
  { name: 'Identity + Cast', inputs: [[2, 3]], build: (g, [a]) => g.o('Cast', [g.o('Identity', [a])], { to: DataType.FLOAT }) },
  {
    name: 'RMSNorm (fan-out and fan-in)',
    inputs: [[2, 3, 4]],
    build: (g, [a]) => {
      const v = g.o('ReduceMean', [g.o('Mul', [a, a])], { axes: [-1], keepdims: 1 });
      return g.o('Mul', [a, g.o('Reciprocal', [g.o('Sqrt', [g.o('Add', [v, g.scalarF32(1e-5)])])])]);
    },
  },
];

const concrete = (dims: Dim[]) => dims.map((d) => (typeof d === 'number' ? d : 2));
const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

async function check(c: Case) {
  const rnd = gaussian(7);
  const g = new GraphBuilder('grad_check');
  const names = c.inputs.map((dims, i) => g.input(`x${i}`, DataType.FLOAT, dims));
  const y = c.build(g, names);
  // W's shape comes from running the forward once: no shape logic of grad.ts is trusted here.
  const probe = new GraphBuilder('probe');
  probe.nodes.push(...g.nodes); probe.initializers.push(...g.initializers); probe.inputs.push(...g.inputs);
  probe.output(y, DataType.FLOAT, []);
  const [lo, hi] = c.range ?? [-1.5, 1.5];
  const values = c.inputs.map((d) => Float32Array.from({ length: size(concrete(d)) }, () => lo + (hi - lo) * (0.5 + 0.5 * Math.tanh(rnd()))));
  const feeds = (vals: Float32Array[]) => Object.fromEntries(vals.map((v, i) => [names[i], new ort.Tensor('float32', v, concrete(c.inputs[i]))]));
  const ys = await ort.InferenceSession.create(probe.toModel());
  const yT = (await ys.run(feeds(values)))[y];
  await ys.release();
  const w = g.f32('w', [...yT.dims], Float32Array.from({ length: yT.size }, () => rnd()));
  const loss = g.o('ReduceSum', [g.o('Mul', [y, w]), g.i64(yT.dims.map((_, i) => i))], { keepdims: 0 }, { output: 'loss' });
  const grads = differentiate(g, loss, names);
  g.output('loss', DataType.FLOAT, []);
  grads.forEach((gn, i) => g.o('Identity', [gn], undefined, { output: `g${i}` }));
  names.forEach((_, i) => g.output(`g${i}`, DataType.FLOAT, c.inputs[i]));
  const s = await ort.InferenceSession.create(g.toModel());
  try {
    const out = await s.run(feeds(values));
    const lossAt = async (vals: Float32Array[]) => ((await s.run(feeds(vals), ['loss'])).loss.data as Float32Array)[0];
    for (const [i, v] of values.entries()) {
      const analytic = out[`g${i}`].data as Float32Array;
      expect(analytic.length, `${c.name}: gradient ${i} size`).toBe(v.length);
      for (const k of new Set([0, Math.floor(v.length / 2), v.length - 1])) {
        const eps = 1e-2 * Math.max(1, Math.abs(v[k]));
        const at = (d: number) => values.map((u, j) => (j === i ? Float32Array.from(u, (e, m) => (m === k ? e + d : e)) : u));
        const fd = ((await lossAt(at(eps))) - (await lossAt(at(-eps)))) / (2 * eps);
        expect(Math.abs(analytic[k] - fd), `${c.name}: d loss/d x${i}[${k}] = ${analytic[k]}, finite differences ${fd}`).toBeLessThan(1e-2 * Math.max(Math.abs(fd), 0.1));
      }
    }
  } finally {
    await s.release();
  }
}

describe('reverse-mode VJPs match central finite differences', () => {
  for (const c of CASES) it(c.name, () => check(c));

  it('refuses ops without a rule and losses that do not depend on the input', () => {
    const g = new GraphBuilder('bad');
    const a = g.input('a', DataType.FLOAT, [3]);
    const loss = g.o('ReduceSum', [g.o('Tanh', [a]), g.i64([0])], { keepdims: 0 });
    expect(() => differentiate(g, loss, ['a'])).toThrow(/no gradient rule for Tanh/);
    const h = new GraphBuilder('unused');
    h.input('a', DataType.FLOAT, [3]);
    const b = h.input('b', DataType.FLOAT, [3]);
    expect(() => differentiate(h, h.o('ReduceSum', [b, h.i64([0])], { keepdims: 0 }), ['a'])).toThrow(GradError);
  });
});

describe('weight gradients (whole-network fine-tuning)', () => {
  it('an embedding table read with run-time indices gets the scatter-added gradient; stop detaches', async () => {
    const rnd = gaussian(11);
    const V = 5, D = 3, B = 2, N = 4;
    const table = Float32Array.from({ length: V * D }, () => rnd());
    const wy = Float32Array.from({ length: B * N * D }, () => rnd());
    const ids = Int32Array.of(0, 3, 3, 1, 4, 0, 3, 2); // repeats: their gradients must add up
    const g = new GraphBuilder('embed_grad');
    g.input('tokens', DataType.INT32, ['b', N]);
    g.input('table', DataType.FLOAT, [V, D]);
    const e = g.o('Gather', ['table', 'tokens'], { axis: 0 });
    // A detached path: the table also enters through `held`, which must not contribute.
    const held = g.o('Identity', [g.o('Mul', ['table', g.scalarF32(3)])]);
    const mixed = g.o('Add', [e, g.o('ReduceSum', [held, g.i64([0, 1])], { keepdims: 0 })]);
    const loss = g.o('ReduceSum', [g.o('Mul', [mixed, g.f32('wy', [B, N, D], wy)]), g.i64([0, 1, 2])], { keepdims: 0 }, { output: 'loss' });
    const [d] = differentiate(g, loss, ['table'], { stop: [held] });
    g.o('Identity', [d], undefined, { output: 'd' });
    g.output('loss', DataType.FLOAT, []);
    g.output('d', DataType.FLOAT, [V, D]);
    const s = await ort.InferenceSession.create(g.toModel());
    try {
      const out = await s.run({ tokens: new ort.Tensor('int32', ids, [B, N]), table: new ort.Tensor('float32', table, [V, D]) });
      const got = out.d.data as Float32Array;
      // Expected: Σ over positions reading row v of the upstream gradient; the detached term adds nothing.
      const want = new Float64Array(V * D);
      ids.forEach((v, p) => { for (let k = 0; k < D; k++) want[v * D + k] += wy[p * D + k]; });
      for (let i = 0; i < V * D; i++) expect(Math.abs(got[i] - want[i]), `d table[${i}]`).toBeLessThan(1e-5);
    } finally {
      await s.release();
    }
  });
});
