/**
 * Reverse-mode differentiation over the converter's own graph IR.
 * GraphBuilder already records every op it emits ({op, inputs, outputs, attrs}
 * in `g.nodes`), so that list is the tape: `differentiate` walks it backwards
 * and appends ONNX ops for each op's vector-Jacobian product to the same
 * builder. Shapes are inferred statically (a symbolic batch dimension is kept
 * as its name) so that broadcasting, Slice/Pad/Gather/Concat offsets and
 * ReduceMean counts resolve at build time; only shapes holding the batch
 * (Reshape's inverse, Expand back over reduced axes, zeros for unused Split
 * outputs) are read at run time with Shape().
 * float32 only: the fp32 TRM graphs are the only ones differentiated.
 */
import { DataType, type AttrValue, type Dim, type GraphBuilder, type NodeDef } from './onnx.ts';

type Shape = Dim[];

export class GradError extends Error {
  constructor(message: string) { super(message); this.name = 'GradError'; }
}

/** Ops whose outputs carry no gradient (integer/boolean results, shapes). */
const NON_DIFFERENTIABLE = new Set(['ArgMax', 'Equal', 'Greater', 'Less', 'Not', 'And', 'Or', 'Shape', 'ReduceMin', 'Size']);

function constInts(g: GraphBuilder, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = g.initializers.find((i) => i.name === name);
  if (!t) return undefined;
  const dv = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  if (t.dataType === DataType.INT64) return Array.from({ length: t.raw.byteLength / 8 }, (_, i) => Number(dv.getBigInt64(8 * i, true)));
  if (t.dataType === DataType.INT32) return Array.from({ length: t.raw.byteLength / 4 }, (_, i) => dv.getInt32(4 * i, true));
  return undefined;
}

function broadcast(a: Shape, b: Shape, where: string): Shape {
  const r = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    // A symbolic dim meeting a fixed one must equal it at run time (ONNX checks that).
    else if (typeof x === 'string' && typeof y === 'number') out.push(y);
    else if (typeof y === 'string' && typeof x === 'number') out.push(x);
    else throw new GradError(`${where}: shapes [${a}] and [${b}] do not broadcast`);
  }
  return out;
}

const i64bytesOf = (n: number) => new Uint8Array(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)).buffer);
const axisOf = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const attrInt = (n: NodeDef, k: string, dflt: number) => (n.attrs?.[k] as number | undefined) ?? dflt;
const attrInts = (n: NodeDef, k: string) => n.attrs?.[k] as number[] | undefined;

/** Static shapes of every value the nodes produce; undefined where an op is not modelled. */
function inferShapes(g: GraphBuilder): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  for (const v of g.inputs) shapes.set(v.name, v.dims);
  for (const t of g.initializers) shapes.set(t.name, t.dims);
  for (const n of g.nodes) {
    const s = n.inputs.map((i) => shapes.get(i));
    const out = shapeRule(g, n, s);
    if (out) out.forEach((o, i) => o && shapes.set(n.outputs[i], o));
  }
  return shapes;
}

function reduced(x: Shape, axes: number[] | undefined, keep: boolean): Shape {
  const ax = new Set((axes ?? x.map((_, i) => i)).map((a) => axisOf(a, x.length)));
  return x.flatMap((d, i) => (ax.has(i) ? (keep ? [1] : []) : [d]));
}

function shapeRule(g: GraphBuilder, n: NodeDef, s: (Shape | undefined)[]): (Shape | undefined)[] | undefined {
  const x = s[0];
  if (!x) return undefined;
  const where = `${n.name} (${n.op})`;
  switch (n.op) {
    case 'Identity': case 'Neg': case 'Sqrt': case 'Reciprocal': case 'Sigmoid': case 'Softmax': case 'LogSoftmax':
    case 'Exp': case 'Log': case 'Softplus': case 'Relu': case 'Tanh': case 'Cast': case 'Not':
      return [x];
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Equal': case 'Greater': case 'Less': case 'Max': case 'Min':
      return s[1] ? [broadcast(x, s[1], where)] : undefined;
    case 'MatMul': {
      const y = s[1];
      if (!y || x.length < 2 || y.length < 2) return undefined;
      return [[...broadcast(x.slice(0, -2), y.slice(0, -2), where), x[x.length - 2], y[y.length - 1]]];
    }
    case 'Transpose': return [attrInts(n, 'perm')!.map((p) => x[p])];
    case 'Reshape': {
      const target = constInts(g, n.inputs[1]);
      if (!target || target.includes(-1)) return undefined;
      return [target.map((d, i) => (d === 0 ? x[i] : d))];
    }
    case 'Split': {
      const sizes = constInts(g, n.inputs[1]);
      const ax = axisOf(attrInt(n, 'axis', 0), x.length);
      return sizes?.map((d) => x.map((v, i) => (i === ax ? d : v)));
    }
    case 'Concat': {
      const ax = axisOf(attrInt(n, 'axis', 0), x.length);
      if (s.some((t) => !t || typeof t[ax] !== 'number')) return undefined;
      return [x.map((v, i) => (i === ax ? s.reduce((a, t) => a + (t![ax] as number), 0) : v))];
    }
    case 'ReduceMean': case 'ReduceMax': case 'ReduceMin':
      return [reduced(x, attrInts(n, 'axes'), attrInt(n, 'keepdims', 1) === 1)];
    case 'ReduceSum':
      return [reduced(x, constInts(g, n.inputs[1]), attrInt(n, 'keepdims', 1) === 1)];
    case 'ArgMax': return [reduced(x, [attrInt(n, 'axis', 0)], attrInt(n, 'keepdims', 1) === 1)];
    case 'Slice': {
      const sl = sliceSpec(g, n, x);
      return sl && [x.map((d, i) => { const k = sl.axes.indexOf(i); return k < 0 ? d : sl.ends[k] - sl.starts[k]; })];
    }
    case 'Gather': {
      const idx = s[1];
      if (!idx) return undefined;
      const ax = axisOf(attrInt(n, 'axis', 0), x.length);
      return [[...x.slice(0, ax), ...idx, ...x.slice(ax + 1)]];
    }
    case 'Pad': {
      const pads = constInts(g, n.inputs[1]);
      if (!pads) return undefined;
      const r = x.length;
      return [x.map((d, i) => (pads[i] === 0 && pads[i + r] === 0 ? d : typeof d === 'number' ? d + pads[i] + pads[i + r] : undefined!))];
    }
    case 'Expand': {
      const to = constInts(g, n.inputs[1]);
      return to && [broadcast(x, to, where)];
    }
    case 'Unsqueeze': {
      const axes = constInts(g, n.inputs[1]);
      if (!axes) return undefined;
      const r = x.length + axes.length, out: Shape = [];
      const ax = new Set(axes.map((a) => axisOf(a, r)));
      for (let i = 0, j = 0; i < r; i++) out.push(ax.has(i) ? 1 : x[j++]);
      return [out];
    }
    default: return undefined;
  }
}

/** Slice with constant starts/ends/axes and unit steps, clamped to the (numeric) sliced dims. */
function sliceSpec(g: GraphBuilder, n: NodeDef, x: Shape) {
  const starts = constInts(g, n.inputs[1]), ends = constInts(g, n.inputs[2]);
  const axes = (constInts(g, n.inputs[3]) ?? starts?.map((_, i) => i))?.map((a) => axisOf(a, x.length));
  const steps = constInts(g, n.inputs[4]);
  if (!starts || !ends || !axes || steps?.some((v) => v !== 1)) return undefined;
  const dims = axes.map((a) => x[a]);
  if (dims.some((d) => typeof d !== 'number')) return undefined;
  const clamp = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  return { axes, starts: starts.map((v, k) => clamp(v, dims[k] as number)), ends: ends.map((v, k) => clamp(v, dims[k] as number)), dims: dims as number[] };
}

/**
 * Appends the gradient of scalar `loss` with respect to each of `wrt` (graph
 * inputs, initializers or intermediate values) to `g` and returns the gradient
 * value names. `stop` names values treated as constants (torch's detach): no
 * gradient flows back through them, as through upstream's no_grad H-cycles.
 */
export function differentiate(g: GraphBuilder, loss: string, wrt: string[], opts: { stop?: string[] } = {}): string[] {
  const shapes = inferShapes(g);
  const shape = (name: string): Shape => {
    const sh = shapes.get(name);
    if (!sh) throw new GradError(`no static shape for "${name}" (its op is not modelled by grad.ts)`);
    return sh;
  };
  if (shape(loss).length !== 0) throw new GradError(`loss "${loss}" must be a scalar, has shape [${shape(loss)}]`);

  // Values that depend on `wrt` through differentiable ops, and values the loss depends on.
  const requires = new Set(wrt), stop = new Set(opts.stop ?? []);
  for (const n of g.nodes) {
    if (NON_DIFFERENTIABLE.has(n.op) || (n.op === 'Cast' && n.attrs?.to !== DataType.FLOAT)) continue;
    if (n.inputs.some((i) => requires.has(i))) n.outputs.forEach((o) => { if (!stop.has(o)) requires.add(o); });
  }
  const needed = new Set([loss]);
  for (const n of [...g.nodes].reverse()) if (n.outputs.some((o) => needed.has(o))) n.inputs.forEach((i) => needed.add(i));
  for (const w of wrt) if (!needed.has(w)) throw new GradError(`the loss does not depend on "${w}"`);
  const tape = g.nodes.filter((n) => n.outputs.some((o) => needed.has(o) && requires.has(o)));

  const grads = new Map<string, string>([[loss, g.scalarF32(1)]]);
  const accumulate = (name: string, grad: string) => {
    const prev = grads.get(name);
    grads.set(name, prev ? g.o('Add', [prev, grad]) : grad);
  };
  const ops = vjpOps(g, shape);
  for (const n of tape.reverse()) {
    const gys = n.outputs.map((o) => grads.get(o));
    if (gys.every((v) => v === undefined)) continue;
    const want = n.inputs.map((i) => requires.has(i));
    const rule = ops[n.op];
    if (!rule) throw new GradError(`no gradient rule for ${n.op} (node ${n.name})`);
    const gx = rule(n, gys, want);
    n.inputs.forEach((name, i) => { if (want[i] && gx[i]) accumulate(name, gx[i]!); });
  }
  return wrt.map((w) => grads.get(w)!);
}

type Vjp = (n: NodeDef, gys: (string | undefined)[], want: boolean[]) => (string | undefined)[];

function vjpOps(g: GraphBuilder, shape: (name: string) => Shape): Record<string, Vjp> {
  const o = (op: string, inputs: string[], attrs?: Record<string, AttrValue>) => g.o(op, inputs, attrs);
  const one = () => g.scalarF32(1);
  /** Sums a broadcast gradient back down to the shape of `target`. */
  const unbroadcast = (grad: string, gradShape: Shape, target: string): string => {
    const ts = shape(target), lead = gradShape.length - ts.length;
    const axes = gradShape.map((_, i) => i).filter((i) => i < lead || (ts[i - lead] === 1 && gradShape[i] !== 1));
    if (!axes.length) return grad;
    const keep = axes.filter((i) => i >= lead), drop = axes.filter((i) => i < lead);
    let r = keep.length ? o('ReduceSum', [grad, g.i64(keep)], { keepdims: 1 }) : grad;
    if (drop.length) r = o('ReduceSum', [r, g.i64(drop)], { keepdims: 0 });
    return r;
  };
  const swapLast = (v: string) => {
    const r = shape(v).length;
    if (r < 2) throw new GradError(`MatMul gradient needs rank ≥ 2 operands, "${v}" has rank ${r}`);
    return o('Transpose', [v], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
  };
  const expandBack = (n: NodeDef, gy: string, axes: number[] | undefined, keep: boolean, scale: boolean) => {
    const x = n.inputs[0], xs = shape(x);
    const ax = (axes ?? xs.map((_, i) => i)).map((a) => axisOf(a, xs.length));
    const gk = keep ? gy : o('Unsqueeze', [gy, g.i64(ax)]);
    const e = o('Expand', [gk, o('Shape', [x])]);
    if (!scale) return e;
    const count = ax.map((a) => xs[a]);
    if (count.some((d) => typeof d !== 'number')) throw new GradError(`${n.name}: ReduceMean over a symbolic axis`);
    return o('Mul', [e, g.scalarF32(1 / (count as number[]).reduce((a, b) => a * b, 1))]);
  };
  const out0 = (n: NodeDef) => shape(n.outputs[0]);
  const binary = (n: NodeDef, ga: () => string, gb: () => string, want: boolean[]) =>
    [want[0] ? unbroadcast(ga(), out0(n), n.inputs[0]) : undefined, want[1] ? unbroadcast(gb(), out0(n), n.inputs[1]) : undefined];

  return {
    Identity: (_n, [gy]) => [gy],
    Cast: (_n, [gy]) => [gy], // only float→float casts reach here (others are non-differentiable)
    Neg: (_n, [gy]) => [o('Neg', [gy!])],
    Add: (n, [gy], want) => binary(n, () => gy!, () => gy!, want),
    Sub: (n, [gy], want) => binary(n, () => gy!, () => o('Neg', [gy!]), want),
    Mul: (n, [gy], want) => binary(n, () => o('Mul', [gy!, n.inputs[1]]), () => o('Mul', [gy!, n.inputs[0]]), want),
    Div: (n, [gy], want) => binary(n, () => o('Div', [gy!, n.inputs[1]]), () => o('Neg', [o('Mul', [gy!, o('Div', [n.outputs[0], n.inputs[1]])])]), want),
    Sqrt: (n, [gy]) => [o('Div', [o('Mul', [gy!, g.scalarF32(0.5)]), n.outputs[0]])],
    Reciprocal: (n, [gy]) => [o('Neg', [o('Mul', [gy!, o('Mul', [n.outputs[0], n.outputs[0]])])])],
    Exp: (n, [gy]) => [o('Mul', [gy!, n.outputs[0]])],
    Log: (n, [gy]) => [o('Div', [gy!, n.inputs[0]])],
    Sigmoid: (n, [gy]) => [o('Mul', [gy!, o('Mul', [n.outputs[0], o('Sub', [one(), n.outputs[0]])])])],
    Softplus: (n, [gy]) => [o('Mul', [gy!, o('Sigmoid', [n.inputs[0]])])],
    Relu: (n, [gy]) => [o('Mul', [gy!, o('Cast', [o('Greater', [n.inputs[0], g.scalarF32(0)])], { to: DataType.FLOAT })])],
    Softmax: (n, [gy]) => {
      const y = n.outputs[0], ax = attrInt(n, 'axis', -1);
      return [o('Mul', [y, o('Sub', [gy!, o('ReduceSum', [o('Mul', [gy!, y]), g.i64([ax])], { keepdims: 1 })])])];
    },
    LogSoftmax: (n, [gy]) => {
      const ax = attrInt(n, 'axis', -1);
      return [o('Sub', [gy!, o('Mul', [o('Exp', [n.outputs[0]]), o('ReduceSum', [gy!, g.i64([ax])], { keepdims: 1 })])])];
    },
    MatMul: (n, [gy], want) => {
      // Batch dims broadcast like elementwise ops; the matrix dims are the operand's own.
      const [a, b] = n.inputs, batch = out0(n).slice(0, -2);
      const back = (v: string, x: string) => unbroadcast(v, [...batch, ...shape(x).slice(-2)], x);
      return [want[0] ? back(o('MatMul', [gy!, swapLast(b)]), a) : undefined, want[1] ? back(o('MatMul', [swapLast(a), gy!]), b) : undefined];
    },
    Transpose: (n, [gy]) => {
      const perm = attrInts(n, 'perm')!, inv = perm.map((_, i) => perm.indexOf(i));
      return [o('Transpose', [gy!], { perm: inv })];
    },
    Reshape: (n, [gy]) => [o('Reshape', [gy!, o('Shape', [n.inputs[0]])])],
    Unsqueeze: (n, [gy]) => [o('Reshape', [gy!, o('Shape', [n.inputs[0]])])],
    Expand: (n, [gy]) => [unbroadcast(gy!, out0(n), n.inputs[0])],
    Split: (n, gys) => [o('Concat', n.outputs.map((out, i) => gys[i] ?? o('ConstantOfShape', [o('Shape', [out])])), { axis: attrInt(n, 'axis', 0) })],
    Concat: (n, [gy], want) => {
      const r = out0(n).length, ax = axisOf(attrInt(n, 'axis', 0), r);
      let off = 0;
      return n.inputs.map((x, i) => {
        const len = shape(x)[ax] as number, start = off;
        off += len;
        return want[i] ? o('Slice', [gy!, g.i64([start]), g.i64([start + len]), g.i64([ax])]) : undefined;
      });
    },
    ReduceMean: (n, [gy]) => [expandBack(n, gy!, attrInts(n, 'axes'), attrInt(n, 'keepdims', 1) === 1, true)],
    ReduceSum: (n, [gy]) => [expandBack(n, gy!, constInts(g, n.inputs[1]), attrInt(n, 'keepdims', 1) === 1, false)],
    Slice: (n, [gy]) => {
      const xs = shape(n.inputs[0]), sl = sliceSpec(g, n, xs);
      if (!sl) throw new GradError(`${n.name}: Slice gradient needs constant starts/ends/axes, unit steps and fixed sliced dims`);
      const pads = new Array<number>(2 * xs.length).fill(0);
      sl.axes.forEach((a, k) => { pads[a] = sl.starts[k]; pads[a + xs.length] = sl.dims[k] - sl.ends[k]; });
      return [o('Pad', [gy!, g.i64(pads)])];
    },
    Gather: (n, [gy], want) => {
      if (want[1]) throw new GradError(`${n.name}: indices are not differentiable`);
      const xs = shape(n.inputs[0]), ax = axisOf(attrInt(n, 'axis', 0), xs.length);
      const idx = constInts(g, n.inputs[1]), dim = xs[ax];
      if (!idx && ax === 0 && xs.length === 2 && typeof xs[0] === 'number' && typeof xs[1] === 'number') {
        // An embedding table [V, D] read with run-time indices: scatter-add written as
        // onehot(indices)ᵀ · gy, a MatMul every EP has (V is small: 12 tokens for ARC).
        const [V, D] = xs as number[];
        const ids = g.init(g.fresh('gather_ids'), DataType.INT64, [V], i64bytesOf(V));
        const onehot = o('Cast', [o('Equal', [o('Unsqueeze', [o('Cast', [n.inputs[1]], { to: DataType.INT64 }), g.i64([-1])]), ids])], { to: DataType.FLOAT });
        const flat = o('Reshape', [onehot, g.i64([-1, V])]);
        return [o('MatMul', [o('Transpose', [flat], { perm: [1, 0] }), o('Reshape', [gy!, g.i64([-1, D])])]), undefined];
      }
      if (!idx || shape(n.inputs[1]).length !== 0 || typeof dim !== 'number') {
        throw new GradError(`${n.name}: Gather gradient supports one constant scalar index on a fixed axis, or run-time indices into a fixed-size [V, D] table on axis 0`);
      }
      const i = idx[0] < 0 ? idx[0] + dim : idx[0];
      const pads = new Array<number>(2 * xs.length).fill(0);
      pads[ax] = i;
      pads[ax + xs.length] = dim - i - 1;
      return [o('Pad', [o('Unsqueeze', [gy!, g.i64([ax])]), g.i64(pads)]), undefined];
    },
    Pad: (n, [gy]) => {
      const xs = shape(n.inputs[0]), pads = constInts(g, n.inputs[1]);
      if (!pads || (n.attrs?.mode !== undefined && n.attrs.mode !== 'constant')) throw new GradError(`${n.name}: Pad gradient needs constant pads and mode constant`);
      const axes = xs.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + xs.length] !== 0);
      if (axes.some((a) => typeof xs[a] !== 'number' || pads[a] < 0 || pads[a + xs.length] < 0)) throw new GradError(`${n.name}: Pad gradient needs fixed padded dims and non-negative pads`);
      return [o('Slice', [gy!, g.i64(axes.map((a) => pads[a])), g.i64(axes.map((a) => pads[a] + (xs[a] as number))), g.i64(axes)])];
    },
  };
}
