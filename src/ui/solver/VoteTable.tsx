/**
 * One test input's outcome as upstream's evaluator computes it: the distinct de-augmented
 * predictions ranked by (votes, mean sigmoid(q_halt)), attempt_1 / attempt_2, and pass@1 /
 * pass@2 against the solution when it is known.
 */
import { gridSizeLabel } from '../../arc/grid.ts';
import type { Grid, Task } from '../../arc/types.ts';
import { correctAtK, gridHash } from '../../arc/vote.ts';
import { resultKey } from '../../state/solve.ts';
import { GridCanvas } from '../grid/GridCanvas.tsx';
import { useAppStore } from '../useAppStore.ts';

function Thumb({ grid, label }: { grid: Grid; label: string }) {
  if (grid.length === 0) return <span className="muted small">0×0 (empty)</span>;
  return <GridCanvas grid={grid} label={label} maxHeight={90} maxCell={12} minCell={2} />;
}

function Mark({ ok, label }: { ok: boolean; label: string }) {
  return <span className={`badge ${ok ? 'ok' : 'bad'}`} data-pass={label} data-ok={ok}>{label} {ok ? '✓' : '✗'}</span>;
}

export function VoteTable({ task, testIndex }: { task: Task; testIndex: number }) {
  const result = useAppStore((s) => s.solve.results[resultKey(task.id, testIndex)]);
  if (!result) return null;
  const solution = task.test[testIndex]?.output;
  const { candidates, attempts } = result;
  const total = candidates.reduce((n, c) => n + c.count, 0);
  const solutionHash = solution && gridHash(solution);
  const a1 = gridHash(attempts.attempt_1), a2 = gridHash(attempts.attempt_2);
  return (
    <section className="vote" aria-label={`Vote for test ${testIndex + 1}`} data-test-index={testIndex}>
      <h4>
        Test {testIndex + 1}: vote over {total} variant{total === 1 ? '' : 's'}{' '}
        {solution ? (
          <>
            <Mark ok={correctAtK(candidates, solution, 1)} label="pass@1" /> <Mark ok={correctAtK(candidates, solution, 2)} label="pass@2" />
          </>
        ) : (
          <span className="badge dim">no solution to score against</span>
        )}
      </h4>
      <div className="attempts">
        <figure data-attempt="1" data-grid={JSON.stringify(attempts.attempt_1)}>
          <figcaption className="small">attempt_1 <span className="muted">{gridSizeLabel(attempts.attempt_1)}</span></figcaption>
          <Thumb grid={attempts.attempt_1} label="attempt_1" />
        </figure>
        <figure data-attempt="2" data-grid={JSON.stringify(attempts.attempt_2)}>
          <figcaption className="small">
            attempt_2 <span className="muted">{gridSizeLabel(attempts.attempt_2)}{candidates.length === 1 ? ' · repeats attempt_1 (one distinct prediction)' : ''}</span>
          </figcaption>
          <Thumb grid={attempts.attempt_2} label="attempt_2" />
        </figure>
        {solution && (
          <figure>
            <figcaption className="small">solution</figcaption>
            <Thumb grid={solution} label="solution" />
          </figure>
        )}
      </div>
      <table className="vote-table">
        <thead>
          <tr><th>#</th><th>prediction</th><th>votes</th><th>mean q</th><th>variants</th><th /></tr>
        </thead>
        <tbody>
          {candidates.map((c, k) => (
            <tr key={c.hash} data-grid={JSON.stringify(c.grid)} data-count={c.count} data-mean-q={c.meanQ}>
              <td>{k + 1}</td>
              <td><Thumb grid={c.grid} label={`Candidate ${k + 1}`} /></td>
              <td>{c.count}</td>
              <td>{c.meanQ.toFixed(3)}</td>
              <td className="small muted">{c.variants.map((v) => v + 1).join(', ')}</td>
              <td className="small">
                {c.hash === a1 && <span className="badge">attempt_1</span>} {c.hash === a2 && k > 0 && <span className="badge">attempt_2</span>}{' '}
                {c.hash === solutionHash && <span className="badge ok">solution</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        Ranked by votes, then mean sigmoid(q_halt), as upstream's evaluator. {result.steps} ACT steps on {result.backend.backend} ({result.backend.precision}),{' '}
        {(result.timings.totalMs / 1000).toFixed(1)} s.
      </p>
    </section>
  );
}
