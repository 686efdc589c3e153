import { describe, expect, test } from 'vitest';
import { RunController } from './control.ts';
import { CancelledError } from './errors.ts';
import type { RunState } from './protocol.ts';

/** A stand-in for runRecursion's loop: checkpoint before every "block call", a frame every 5 calls. */
async function loop(c: RunController, calls: number, log: number[]) {
  for (let i = 0; i < calls; i++) {
    await c.checkpoint();
    log.push(i);
    if (i % 5 === 4) c.frameDone();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('RunController', () => {
  test('pause stops before the next call, resume continues', async () => {
    const states: RunState[] = [];
    const c = new RunController(false, (s) => states.push(s));
    const log: number[] = [];
    const done = loop(c, 20, log);
    c.pause();
    await tick();
    expect(log.length).toBeLessThanOrEqual(1);
    c.resume();
    await done;
    expect(log).toHaveLength(20);
    expect(states).toEqual(['paused', 'running']);
  });

  test('start paused, then step runs exactly to the next frame', async () => {
    const c = new RunController(true);
    const log: number[] = [];
    const done = loop(c, 20, log);
    await tick();
    expect(log).toEqual([]);
    c.step();
    await tick();
    expect(log).toEqual([0, 1, 2, 3, 4]);
    expect(c.state).toBe('paused');
    c.step();
    await tick();
    expect(log).toHaveLength(10);
    c.resume();
    await done;
    expect(log).toHaveLength(20);
  });

  test('cancel rejects a paused run and a running one with CancelledError', async () => {
    const paused = new RunController(true);
    const p = loop(paused, 3, []);
    paused.cancel();
    await expect(p).rejects.toBeInstanceOf(CancelledError);

    const running = new RunController(false);
    const log: number[] = [];
    const r = loop(running, 1000, log);
    await Promise.resolve();
    running.cancel();
    await expect(r).rejects.toBeInstanceOf(CancelledError);
    expect(log.length).toBeLessThan(1000);
  });
});
