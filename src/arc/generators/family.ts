/**
 * A task family is one ARC-style rule with a few parameters (a colour, a
 * direction...). A task is one parameter choice shown on 3-5 demonstration
 * pairs plus 1-2 held-out test pairs whose outputs the same rule produces.
 */
import type { Grid, Pair, Task } from '../types.ts';
import { gridsEqual } from '../grid.ts';
import { cols, rows } from './draw.ts';
import type { Rng } from './rng.ts';

export interface Family<P = unknown> {
  /** Short kebab-case name, used in task ids (`demo-<name>-<n>`). */
  name: string;
  description: string;
  sampleParams(rng: Rng): P;
  /** A fresh input on which the rule visibly changes something; input and output fit in maxSide². */
  sampleInput(rng: Rng, params: P, maxSide: number): Grid;
  /** The rule itself. */
  apply(input: Grid, params: P): Grid;
  /**
   * Every parameter value, when the space is small: generation then rejects tasks whose
   * demonstrations fit another value that would give a different test output.
   */
  allParams?: readonly P[];
}

export interface TaskOptions<P> {
  id: string;
  /** Side of the square canvas every grid must fit in. */
  maxSide: number;
  params?: P;
  trainCount?: number;
  testCount?: number;
  source?: string;
  /** Every input of the task (demonstrations and tests) has the first input's size, as in most ARC tasks. */
  sameSize?: boolean;
}

export interface GeneratedTask<P> {
  task: Task;
  params: P;
}

const MAX_TASK_TRIES = 200;
const MAX_PAIR_TRIES = 200;
/** With sameSize, inputs of other sizes are redrawn: families pick sizes at random, 36 sizes at most on 8×8. */
const SAME_SIZE_TRIES = 5000;

export function fitsCanvas(g: Grid, maxSide: number): boolean {
  return rows(g) >= 1 && rows(g) <= maxSide && cols(g) >= 1 && cols(g) <= maxSide;
}

function drawPair<P>(family: Family<P>, rng: Rng, params: P, maxSide: number, seen: Grid[], shape?: [number, number]): Pair {
  const tries = shape ? SAME_SIZE_TRIES : MAX_PAIR_TRIES;
  for (let i = 0; i < tries; i++) {
    const input = family.sampleInput(rng, params, maxSide);
    if (shape && (rows(input) !== shape[0] || cols(input) !== shape[1])) continue;
    if (!fitsCanvas(input, maxSide) || seen.some((g) => gridsEqual(g, input))) continue;
    const output = family.apply(input, params);
    if (!fitsCanvas(output, maxSide) || gridsEqual(input, output)) continue;
    return { input, output };
  }
  throw new Error(`family ${family.name}: no valid pair after ${tries} draws (maxSide ${maxSide}${shape ? `, size ${shape[0]}×${shape[1]}` : ''})`);
}

/** True when no other parameter value explains the demonstrations yet answers a test differently. */
export function isUnambiguous<P>(family: Family<P>, params: P, train: Pair[], test: Pair[]): boolean {
  for (const alt of family.allParams ?? []) {
    const fitsDemos = train.every((p) => gridsEqual(family.apply(p.input, alt), p.output));
    if (fitsDemos && !test.every((p) => gridsEqual(family.apply(p.input, alt), family.apply(p.input, params))))
      return false;
  }
  return true;
}

export function generateTask<P>(family: Family<P>, rng: Rng, opts: TaskOptions<P>): GeneratedTask<P> {
  const params = opts.params ?? family.sampleParams(rng);
  for (let attempt = 0; attempt < MAX_TASK_TRIES; attempt++) {
    const trainCount = opts.trainCount ?? rng.int(3, 5);
    const testCount = opts.testCount ?? rng.int(1, 2);
    const seen: Grid[] = [];
    const pairs: Pair[] = [];
    for (let i = 0; i < trainCount + testCount; i++) {
      const shape = opts.sameSize && pairs.length ? [rows(pairs[0].input), cols(pairs[0].input)] as [number, number] : undefined;
      const pair = drawPair(family, rng, params, opts.maxSide, seen, shape);
      seen.push(pair.input);
      pairs.push(pair);
    }
    const train = pairs.slice(0, trainCount);
    const test = pairs.slice(trainCount);
    if (!isUnambiguous(family, params, train, test)) continue;
    const task: Task = { id: opts.id, train, test };
    if (opts.source) task.source = opts.source;
    return { task, params };
  }
  throw new Error(`family ${family.name}: no unambiguous task after ${MAX_TASK_TRIES} attempts`);
}
