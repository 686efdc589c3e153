/** A one-line progress bar on stderr (redrawn in place on a TTY, phase lines otherwise). */
import type { Progress } from '../convert/convert.ts';

export function progressBar(stream: NodeJS.WriteStream = process.stderr, width = 30) {
  let lastPhase = '';
  let lastDraw = 0;
  return {
    update({ phase, done, total }: Progress) {
      const frac = total ? Math.min(1, done / total) : 1;
      if (!stream.isTTY) {
        if (phase !== lastPhase) stream.write(`${phase}…\n`);
        lastPhase = phase;
        return;
      }
      const now = Date.now();
      if (phase === lastPhase && done < total && now - lastDraw < 50) return; // redraws are cheap, but not free
      lastDraw = now;
      if (phase !== lastPhase && lastPhase) stream.write('\n');
      lastPhase = phase;
      const fill = Math.round(frac * width);
      stream.write(`\r[${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(Math.round(frac * 100)).padStart(3)}% ${phase} (${done}/${total})`);
    },
    done() { if (stream.isTTY && lastPhase) stream.write('\n'); lastPhase = ''; },
  };
}
