/** The model's state for a task in the task list: not run, partly run, or scored at pass@2. */
import type { TaskSolveState } from '../../state/solve.ts';

const LABELS: Record<Exclude<TaskSolveState, 'none'>, [string, string, string]> = {
  partial: ['model: partly run', '', 'Some test inputs were solved by the model'],
  solved: ['model: ran', '', 'The model ran on every test input; no solution to score'],
  correct: ['model ✓', 'ok', 'The model is correct at pass@2 on every test input'],
  wrong: ['model ✗', 'bad', 'The model is wrong at pass@2 on some test input'],
};

export function SolveBadge({ state }: { state: TaskSolveState }) {
  if (state === 'none') return null;
  const [text, tone, title] = LABELS[state];
  return <span className={`badge ${tone}`} title={title} data-model-state={state}>{text}</span>;
}
