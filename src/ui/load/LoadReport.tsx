/** What the last load did: tasks loaded, and every rejected input with file and field path. */
import { useEffect } from 'react';
import { formatLoadError } from '../../arc/parse.ts';
import { appStore, useAppStore } from '../useAppStore.ts';

/** A clean load's confirmation goes away by itself; problems stay until dismissed. */
const SUCCESS_VISIBLE_MS = 10_000;

export function LoadReport() {
  const report = useAppStore((s) => s.lastLoad);
  useEffect(() => {
    if (!report || report.errors.length > 0) return;
    const timer = setTimeout(() => {
      if (appStore.getState().lastLoad === report) appStore.getState().dismissLoadReport();
    }, SUCCESS_VISIBLE_MS);
    return () => clearTimeout(timer);
  }, [report]);
  if (!report) return null;
  const { taskIds, errors, files } = report;
  const from = files.length === 1 ? files[0] : `${files.length} files`;
  return (
    <section className={`load-report ${errors.length ? 'has-errors' : ''}`} aria-label="Load report" role={errors.length ? 'alert' : 'status'}>
      <div className="load-report-head">
        <strong>
          {taskIds.length > 0 ? `Loaded ${taskIds.length} task${taskIds.length === 1 ? '' : 's'} from ${from}` : `Nothing loaded from ${from}`}
          {errors.length > 0 && ` · ${errors.length} problem${errors.length === 1 ? '' : 's'}`}
        </strong>
        <button type="button" className="ghost" aria-label="Dismiss load report" onClick={() => appStore.getState().dismissLoadReport()}>
          ✕
        </button>
      </div>
      {errors.length > 0 && (
        <ul className="load-errors">
          {errors.slice(0, 50).map((e, i) => (
            <li key={i}>{formatLoadError(e)}</li>
          ))}
          {errors.length > 50 && <li className="muted">… and {errors.length - 50} more</li>}
        </ul>
      )}
    </section>
  );
}
