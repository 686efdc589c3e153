import { expect, test } from 'vitest';
import { scoreTask, summariseScores } from './score.ts';
import type { Task } from './types.ts';
import { vote } from './vote.ts';

const A = [[1]], B = [[2]], C = [[3]];

const twoInputs: Task = { id: 't2', train: [], test: [{ input: [[0]], output: B }, { input: [[0]], output: C }] };
const oneInput: Task = { id: 't1', train: [], test: [{ input: [[0]], output: A }] };
const unknown: Task = { id: 'tu', train: [], test: [{ input: [[0]] }] };

test('per input pass@1/pass@2 and the task score as the fraction of its test inputs', () => {
  // input 0: A (2 votes) then B → B correct at 2 only; input 1: not solved → wrong
  const s = scoreTask(twoInputs, [vote([{ grid: A, qHalt: 0 }, { grid: A, qHalt: 0 }, { grid: B, qHalt: 0 }]), undefined]);
  expect(s).toEqual({ taskId: 't2', inputs: [{ 1: false, 2: true }, { 1: false, 2: false }], passAt: { 1: 0, 2: 0.5 } });
});

test('a task without solutions is not scored', () => {
  expect(scoreTask(unknown, [vote([{ grid: A, qHalt: 0 }])])).toBeUndefined();
});

test('summary is the mean task score over scored tasks', () => {
  const scores = [
    scoreTask(twoInputs, [vote([{ grid: A, qHalt: 0 }, { grid: A, qHalt: 0 }, { grid: B, qHalt: 0 }]), []]),
    scoreTask(oneInput, [vote([{ grid: A, qHalt: 0 }])]),
    scoreTask(unknown, [undefined]),
  ];
  // pass@1: (0 + 1) / 2; pass@2: (0.5 + 1) / 2
  expect(summariseScores(scores)).toEqual({ tasks: 3, scored: 2, passAt: { 1: 0.5, 2: 0.75 } });
  expect(summariseScores([undefined])).toEqual({ tasks: 1, scored: 0, passAt: { 1: 0, 2: 0 } });
});

test('other K values, as upstream reports pass@5 and up', () => {
  const cands = vote([A, A, A, B, B, C].map((grid) => ({ grid, qHalt: 0 })));
  const s = scoreTask({ id: 'k', train: [], test: [{ input: [[0]], output: C }] }, [cands], [1, 2, 5]);
  expect(s?.passAt).toEqual({ 1: 0, 2: 0, 5: 1 });
});
