/**
 * Turns measured cases into report rows (ratio to the onnxruntime-node fp32 row of the same
 * model and batch, achieved GFLOP/s, precision agreement with fp32 of the same backend), checks
 * the targets, and renders the markdown.
 */
import type { Backend, CaseResult, Skipped, Stat } from './plan.ts';
import type { TimeToFirstFrame } from './browser.ts';

export interface Row extends Omit<CaseResult, 'tokens'> {
  /** Unrolled ms per ACT step ÷ the ort-node-cpu fp32 row's (same model and batch). */
  ratioToNodeFp32: number | null;
  /** Same for the fused step graph. */
  fusedRatioToNodeFp32: number | null;
  gflopPerS: number;
  /** (unrolled − fused) / fused per ACT step: what streaming frames costs. */
  streamingOverhead: number | null;
  /** vs fp32 on the same backend, after `steps` ACT steps; null for fp32 itself. */
  agreement: { tokens: number; exactGrids: number } | null;
}

export interface ModelReport {
  id: string;
  origin: string;
  hidden: number;
  tokens: number;
  haltMaxSteps: number;
  gflopPerActStep: number;
  nodePeakRssBytes?: number;
  wasmHeapBytes?: number;
  rendererPeakRssBytes?: number;
  ttff?: TimeToFirstFrame;
}

export interface Target { name: string; met: boolean; detail: string }

export function buildRows(results: CaseResult[], flops: Map<string, number>, seqLen: Map<string, number>): Row[] {
  const find = (backend: Backend, r: CaseResult, precision = 'fp32') =>
    results.find((x) => x.backend === backend && x.model === r.model && x.batch === r.batch && x.precision === precision);
  return results.map((r) => {
    const node = find('ort-node-cpu', r);
    const ref = r.precision === 'fp32' ? undefined : find(r.backend, r);
    let agreement: Row['agreement'] = null;
    if (ref && ref.steps === r.steps) {
      const n = seqLen.get(r.model)!;
      let same = 0, grids = 0;
      for (let b = 0; b < r.batch; b++) {
        let rowSame = 0;
        for (let i = b * n; i < (b + 1) * n; i++) if (r.tokens[i] === ref.tokens[i]) rowSame++;
        same += rowSame;
        if (rowSame === n) grids++;
      }
      agreement = { tokens: same / (r.batch * n), exactGrids: grids / r.batch };
    }
    const { tokens: _tokens, ...rest } = r;
    return {
      ...rest,
      ratioToNodeFp32: node ? r.unrolled.median / node.unrolled.median : null,
      fusedRatioToNodeFp32: node?.fusedStep && r.fusedStep ? r.fusedStep.median / node.fusedStep.median : null,
      gflopPerS: (flops.get(r.model)! * r.batch) / (r.unrolled.median * 1e6),
      streamingOverhead: r.fusedStep ? (r.unrolled.median - r.fusedStep.median) / r.fusedStep.median : null,
      agreement,
    };
  });
}

export function checkTargets(rows: Row[], models: ModelReport[], demoId: string | undefined): Target[] {
  const t: Target[] = [];
  const x = (v: number) => `${v.toFixed(2)}×`;
  for (const r of rows.filter((r) => r.backend === 'ort-web-wasm' && r.precision === 'fp32')) {
    const ratio = r.fusedRatioToNodeFp32 ?? r.ratioToNodeFp32;
    if (ratio === null) continue;
    t.push({ name: `WASM fp32 ≤ 3× ort-node fp32 per ACT step (${r.model}, batch ${r.batch}${r.fusedRatioToNodeFp32 !== null ? ', fused graph' : ''})`, met: ratio <= 3, detail: x(ratio) });
    const q8 = rows.find((q) => q.backend === r.backend && q.model === r.model && q.batch === r.batch && q.precision === 'q8');
    if (q8) t.push({ name: `WASM q8 faster than WASM fp32 (${r.model}, batch ${r.batch})`, met: q8.unrolled.median < r.unrolled.median, detail: `${ms(q8.unrolled.median)} vs ${ms(r.unrolled.median)} per step` });
  }
  for (const r of rows.filter((r) => r.backend !== 'ort-node-cpu' && r.streamingOverhead !== null)) {
    t.push({ name: `streaming overhead < 10% (${r.backend}, ${r.model}, ${r.precision}, batch ${r.batch})`, met: r.streamingOverhead! < 0.1, detail: pct(r.streamingOverhead!) });
  }
  const demo = models.find((m) => m.id === demoId);
  if (demo?.ttff) t.push({ name: `warm time to first frame < 2 s (${demo.id})`, met: demo.ttff.warm.ttffMs < 2000, detail: ms(demo.ttff.warm.ttffMs) });
  return t;
}

export const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const stat = (s: Stat) => (s.n > 1 ? `${ms(s.median)} (${ms(s.min)}–${ms(s.max)}, n=${s.n})` : `${ms(s.median)} (n=1)`);
const mib = (b?: number) => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 2 : 0)} MiB`);

export function markdown(rows: Row[], models: ModelReport[], skipped: Skipped[], targets: Target[], header: string): string {
  const L: string[] = [header, ''];
  L.push('| backend | model | precision | batch | ms / ACT step, unrolled (streaming) | ms / ACT step, fused graph | streaming overhead | 16-step solve | GFLOP/s | × node fp32 | tokens = fp32 | grids = fp32 |');
  L.push('|---|---|---|---:|---|---|---:|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const solve = `${r.solve.extrapolated ? '≈' : ''}${stat(r.solve)}${r.solve.extrapolated ? ' *extrapolated*' : ''}`;
    L.push(`| ${r.backend} | ${r.model} | ${r.precision} | ${r.batch} | ${stat(r.unrolled)} | ${r.fusedStep ? stat(r.fusedStep) : '—'} | ${r.streamingOverhead === null ? '—' : pct(r.streamingOverhead)} | ${solve} | ${r.gflopPerS.toFixed(1)} | ${r.ratioToNodeFp32 === null ? '—' : r.ratioToNodeFp32.toFixed(2)} | ${r.agreement ? pct(r.agreement.tokens) : '—'} | ${r.agreement ? pct(r.agreement.exactGrids) : '—'} |`);
  }
  L.push('', 'Per-step figures are the median (range) over the ACT steps of one run after its first step; agreement is after the run\'s last step (`steps` in the JSON). ≈ = halt_max_steps × the per-step median.', '');
  L.push('| model | GFLOP / ACT step / row | node peak RSS | WASM heap | renderer peak RSS | first frame, cold | first frame, warm (IndexedDB) |');
  L.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const m of models) {
    const f = (k: 'cold' | 'warm') => {
      if (!m.ttff) return '—';
      const t = m.ttff[k];
      return `${ms(t.ttffMs)} = page ${ms(t.pageMs)} + load ${ms(t.loadMs)} + compute ${ms(t.ttffMs - t.pageMs - t.loadMs)} (${t.choice.backend} ${t.choice.precision}, ${mib(t.networkBytes)} fetched)`;
    };
    L.push(`| ${m.id} (hidden ${m.hidden}, ${m.tokens} tokens) | ${m.gflopPerActStep.toFixed(2)} | ${mib(m.nodePeakRssBytes)} | ${mib(m.wasmHeapBytes)} | ${mib(m.rendererPeakRssBytes)} | ${f('cold')} | ${f('warm')} |`);
  }
  if (skipped.length) {
    L.push('', 'Not measured:');
    for (const s of skipped) L.push(`- ${s.backend} ${s.model} ${s.precision} batch ${s.batch}: ${s.reason}`);
  }
  if (targets.length) {
    L.push('', '| target | met | measured |', '|---|---|---|');
    for (const t of targets) L.push(`| ${t.name} | ${t.met ? 'yes' : '**no**'} | ${t.detail} |`);
  }
  return L.join('\n');
}
