/**
 * Files out of the solver: the Kaggle submission.json for every loaded task, and a WebM of a
 * run's recursion (canvas.captureStream + MediaRecorder) for slides.
 */
import { PALETTES } from '../../arc/palette.ts';
import { buildSubmission } from '../../arc/submission.ts';
import type { Task } from '../../arc/types.ts';
import { sigmoid } from '../../arc/vote.ts';
import type { FrameBatch } from '../../engine/protocol.ts';
import { resultKey, type StoredResult } from '../../state/solve.ts';
import type { Settings } from '../../state/settings.ts';
import { drawGrid, gridPixelSize } from '../grid/drawGrid.ts';
import { frameLabel } from './frameView.ts';

export function submissionFor(tasks: readonly Task[], results: Record<string, StoredResult>) {
  return buildSubmission(tasks, (id, i) => results[resultKey(id, i)]?.attempts);
}

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download; revoking later keeps slow browsers from losing it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function canRecordVideo(): boolean {
  return typeof MediaRecorder !== 'undefined' && typeof HTMLCanvasElement.prototype.captureStream === 'function';
}

export interface RecordOptions {
  frames: readonly FrameBatch[];
  variant: number;
  settings: Settings;
  steps: number;
  hCycles: number;
  fps?: number;
  /** Largest cell size in px (the video is sized to the largest grid of the run). */
  cellSize?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Plays the run's frames for one variant onto a canvas and records it as WebM. */
export async function recordRunVideo(o: RecordOptions): Promise<Blob> {
  if (!canRecordVideo()) throw new Error('this browser cannot record canvas video (no MediaRecorder or captureStream)');
  const fps = o.fps ?? 6;
  const cellSize = o.cellSize ?? 20;
  const grids = o.frames.map((f) => f.grids[Math.min(o.variant, f.batch - 1)]);
  const rows = Math.max(1, ...grids.map((g) => g.length));
  const cols = Math.max(1, ...grids.map((g) => g[0]?.length ?? 0));
  const size = gridPixelSize(rows, cols, { cellSize, gridLines: o.settings.gridLines });
  const header = 28;
  const canvas = document.createElement('canvas');
  // Even sizes: VP8/VP9 encoders reject odd frame dimensions on some platforms.
  const even = (n: number) => n + (n % 2);
  canvas.width = even(Math.max(160, size.width + 16));
  canvas.height = even(size.height + header + 16);
  const ctx = canvas.getContext('2d')!;
  const paint = (i: number) => {
    const f = o.frames[i];
    const v = Math.min(o.variant, f.batch - 1);
    ctx.fillStyle = '#15171c';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#e6e8ee';
    ctx.font = '14px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillText(`${frameLabel(f, o.steps, o.hCycles)} · q ${sigmoid(f.qHalt[v]).toFixed(2)}`, 8, header / 2);
    ctx.save();
    ctx.translate(8, header);
    drawGrid(ctx, grids[i], { palette: PALETTES[o.settings.palette].colors, cellSize, gridLines: o.settings.gridLines, numbers: o.settings.showNumbers });
    ctx.restore();
  };
  paint(0);
  const stream = canvas.captureStream(fps);
  const mimeType = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'].find((m) => MediaRecorder.isTypeSupported(m));
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => { if (e.data.size > 0) chunks.push(e.data); };
  const stopped = new Promise<void>((resolve) => { recorder.onstop = () => resolve(); });
  recorder.start();
  for (let i = 0; i < o.frames.length; i++) {
    paint(i);
    await sleep(1000 / fps);
  }
  await sleep(1000); // hold the last frame
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((t) => t.stop());
  return new Blob(chunks, { type: 'video/webm' });
}
