/**
 * sigmoid(q_halt) at the end of every ACT step: every variant faint, the shown one bold, the
 * 0.5 threshold dashed, the first step where the shown variant would halt marked, and a cursor
 * at the shown frame. Painted from the store subscription.
 */
import { useRef } from 'react';
import { qSeries, shownFrameIndex } from './frameView.ts';
import { useLiveDraw } from './paint.ts';

const W = 360, H = 140, PAD = { l: 30, r: 8, t: 10, b: 22 };

export function QChart() {
  const canvas = useRef<HTMLCanvasElement>(null);
  const caption = useRef<HTMLParagraphElement>(null);

  useLiveDraw((s) => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    el.width = W * dpr;
    el.height = H * dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const frames = s.solve.live?.frames ?? [];
    const c = s.model.info?.config;
    const hCycles = c?.H_cycles ?? 1;
    const steps = Math.max(c?.halt_max_steps ?? 1, ...frames.map((f) => f.act + 1));
    const x = (act: number) => PAD.l + (steps <= 1 ? 0 : (act / (steps - 1)) * (W - PAD.l - PAD.r));
    const y = (q: number) => PAD.t + (1 - q) * (H - PAD.t - PAD.b);

    ctx.strokeStyle = '#555b6b';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD.l, PAD.t, W - PAD.l - PAD.r, H - PAD.t - PAD.b);
    ctx.fillStyle = '#9aa1b2';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const q of [0, 0.5, 1]) ctx.fillText(q.toFixed(1), PAD.l - 4, y(q));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText('ACT step', (W + PAD.l) / 2, H - PAD.b + 8);
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(PAD.l, y(0.5));
    ctx.lineTo(W - PAD.r, y(0.5));
    ctx.stroke();
    ctx.setLineDash([]);

    const i = shownFrameIndex(s.solve);
    if (i >= 0) {
      ctx.strokeStyle = '#6b7280';
      ctx.beginPath();
      ctx.moveTo(x(frames[i].act), PAD.t);
      ctx.lineTo(x(frames[i].act), H - PAD.b);
      ctx.stroke();
    }
    const batch = frames[0]?.batch ?? 0;
    const shown = Math.min(s.solve.variant, Math.max(0, batch - 1));
    const line = (v: number, color: string, width: number) => {
      const pts = qSeries(frames, v, hCycles);
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      pts.forEach((p, k) => (k === 0 ? ctx.moveTo(x(p.act), y(p.q)) : ctx.lineTo(x(p.act), y(p.q))));
      ctx.stroke();
      return pts;
    };
    for (let v = 0; v < batch; v++) if (v !== shown) line(v, 'rgba(160,170,190,0.35)', 1);
    const pts = batch > 0 ? line(shown, '#4fa3ff', 2) : [];
    const halt = pts.find((p) => p.haltHere);
    if (halt) {
      ctx.fillStyle = '#ffb020';
      ctx.beginPath();
      ctx.arc(x(halt.act), y(halt.q), 4, 0, 2 * Math.PI);
      ctx.fill();
      ctx.textAlign = 'left';
      ctx.textBaseline = 'bottom';
      ctx.fillText('would halt', Math.min(x(halt.act) + 5, W - 60), y(halt.q) - 3);
    }
    el.dataset.points = String(pts.length);
    el.dataset.haltStep = halt ? String(halt.act) : '';
    if (caption.current) {
      const last = pts[pts.length - 1];
      caption.current.textContent = pts.length === 0 ? 'q_halt appears at the end of the first ACT step.' :
        `Variant ${shown + 1}: sigmoid(q_halt) ${last.q.toFixed(3)} after step ${last.act + 1}; ` +
        (halt ? `would halt at step ${halt.act + 1}.` : 'has not crossed 0.5 (would not halt yet).');
    }
  }, []);

  return (
    <figure className="q-chart">
      <figcaption className="small">Halting confidence sigmoid(q_halt) per ACT step</figcaption>
      <canvas ref={canvas} role="img" aria-label="Halting confidence chart" style={{ width: W, height: H }} />
      <p ref={caption} className="muted small" />
    </figure>
  );
}
