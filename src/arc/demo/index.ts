/**
 * Built-in demo tasks, authored for this project (not copied from any ARC dataset).
 * demo-tasks.json is in Kaggle combined form {id: {train, test: [{input, output}]}} and may be
 * regenerated wholesale, so it goes through the same parser as user files.
 */
import { formatLoadError, parseSource } from '../parse.ts';
import type { Task } from '../types.ts';
import demoJson from './demo-tasks.json';

export const DEMO_SOURCE = 'demo';

function loadDemoTasks(): Task[] {
  const parsed = parseSource({ name: 'demo-tasks.json', text: JSON.stringify(demoJson), source: DEMO_SOURCE });
  // Shipped data: a bad entry is a build bug, not user input.
  if (parsed.errors.length > 0) throw new Error(parsed.errors.map(formatLoadError).join('\n'));
  return parsed.tasks;
}

export const demoTasks: readonly Task[] = loadDemoTasks();
