/** ARC domain types shared by every module. A grid is rows of colours 0–9. */
export type Grid = number[][];

export interface Pair {
  input: Grid;
  output: Grid;
}

export interface TestInput {
  input: Grid;
  /** Known solution, when the file (or a solutions file) carries one. */
  output?: Grid;
}

export interface Task {
  id: string;
  train: Pair[];
  test: TestInput[];
  /** Where the task came from: a file name, "demo", "paste". */
  source?: string;
}

/** Kaggle submission entry for one test input. */
export interface Attempts {
  attempt_1: Grid;
  attempt_2: Grid;
}
