/**
 * Which model is loaded, its configuration and precision, the backend and why it was chosen,
 * and whether the model has trained puzzle embeddings for the selected task. A task without
 * them still runs (on the blank row), and the panel says plainly what to expect.
 */
import { useEffect, useState } from 'react';
import type { ModelIndex, ModelIndexEntry } from '../../model/vite-models-plugin.ts';
import type { BackendPreference } from '../../engine/protocol.ts';
import { StorageStatus } from '../../offline/OfflineStatus.tsx';
import { fitAccuracy, fittedFor, fittedForModel } from '../../state/fit.ts';
import { embeddingStatus } from '../../state/model.ts';
import { resultKey } from '../../state/solve.ts';
import { appStore, useAppStore } from '../useAppStore.ts';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function EmbeddingBanner({ taskId }: { taskId: string }) {
  const info = useAppStore((s) => s.model.info);
  const ranWith = useAppStore((s) => {
    const live = s.solve.live;
    if (live?.taskId === taskId && live.variants.length > 0) return live.variants[0].source;
    return s.solve.results[resultKey(taskId, 0)]?.variants[0]?.source;
  });
  const fitted = useAppStore((s) => fittedFor(s, taskId));
  const status = embeddingStatus(info, taskId, ranWith, !!fitted);
  if (!info) return null;
  if (status === 'fitted' && fitted) {
    return (
      <p className="banner ok small" data-embedding="fitted">
        Using the fitted {fitted.weights ? 'whole network' : 'row'} for {taskId} (demo accuracy {fitAccuracy(fitted.stats)} after {fitted.stats.steps} steps
        {fitted.stats.cancelled ? ', cancelled: best row so far' : ''}): the model was not trained on this task, and Solve uses the
        {fitted.weights ? ' row and weights' : ' row'} fitted on its demonstrations.
      </p>
    );
  }
  if (status === 'trained') return <p className="banner ok small" data-embedding="trained">The model was trained on task {taskId}: its own puzzle embeddings are used.</p>;
  if (status === 'table') return <p className="banner small" data-embedding="table">The model has an embedding table; whether it holds rows for {taskId} shows once a solve starts (without them, the blank embedding is used and results will be poor).</p>;
  return (
    <p className="banner warn small" role="note" data-embedding="untrained">
      The model was not trained on task {taskId}. It will run with a blank puzzle embedding, and results will be poor: TRM learns
      each task's embedding during training.
    </p>
  );
}

/** Tasks with rows fitted for this model (rows fitted for other models are listed under those). */
function FittedList({ model }: { model: string }) {
  const fitted = useAppStore((s) => s.fit.fitted);
  const unsaved = useAppStore((s) => s.fit.unsaved);
  const records = fittedForModel(fitted, model);
  if (records.length === 0) return null;
  return (
    <div className="fitted-list small">
      <h4>Fitted rows for this model</h4>
      <ul aria-label="Fitted rows">
        {records.map((r) => (
          <li key={r.taskId} data-fitted-task={r.taskId} data-fit-mode={r.weights ? 'full' : 'row'} data-train-exact={r.stats.train_exact} data-train-total={r.stats.train_total} data-steps={r.stats.steps}>
            <button type="button" className="link" onClick={() => appStore.getState().selectTask(r.taskId)}>{r.taskId}</button>:
            {' '}{r.weights ? 'whole network, ' : ''}demo accuracy {fitAccuracy(r.stats)}, {r.stats.steps} steps ({r.stats.optimizer}){r.stats.cancelled ? ', cancelled' : ''}
            {Object.keys(unsaved).some((k) => fitted[k] === r) && <span className="error"> (not saved)</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The models the site ships (models/index.json, written by the build); empty when absent. */
function useShippedModels(): ModelIndexEntry[] {
  const [models, setModels] = useState<ModelIndexEntry[]>([]);
  useEffect(() => {
    fetch('models/index.json')
      .then((r) => (r.ok ? (r.json() as Promise<ModelIndex>) : { models: [] }))
      .then((index) => setModels(index.models ?? []))
      .catch(() => setModels([]));
  }, []);
  return models;
}

export function ModelPanel() {
  const model = useAppStore((s) => s.model);
  const taskId = useAppStore((s) => s.selectedTaskId);
  const shipped = useShippedModels();
  const [url, setUrl] = useState(model.url);
  // Before anything is loaded, prefer the shipped demo model when there is one.
  useEffect(() => {
    const demo = shipped.find((m) => m.id === 'demo');
    if (demo && appStore.getState().model.status === 'none') {
      setUrl(demo.manifest);
      appStore.getState().setModelUrl(demo.manifest);
    }
  }, [shipped]);
  const chooseUrl = (u: string) => {
    setUrl(u);
    appStore.getState().setModelUrl(u);
  };
  const [backend, setBackend] = useState<BackendPreference>('auto');
  const { info, progress } = model;
  const c = info?.config;

  return (
    <section className="panel model-panel" aria-label="Model panel">
      <h3>Model</h3>
      <form
        className="model-load"
        onSubmit={(e) => {
          e.preventDefault();
          void appStore.getState().loadModel(url, { backend });
        }}
      >
        {shipped.length > 0 && (
          <label className="small">
            Shipped models
            <select value={shipped.some((m) => m.manifest === url) ? url : ''} onChange={(e) => e.target.value && chooseUrl(e.target.value)}>
              <option value="">(other URL)</option>
              {shipped.map((m) => (
                <option key={m.id} value={m.manifest}>
                  {m.name}: hidden {m.hiddenSize}, {mb(m.bytes)}, {m.tasks} trained task{m.tasks === 1 ? '' : 's'}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="small">
          Manifest URL
          <input type="text" value={url} onChange={(e) => chooseUrl(e.target.value)} spellCheck={false} />
        </label>
        <label className="small">
          Backend
          <select value={backend} onChange={(e) => setBackend(e.target.value as BackendPreference)}>
            <option value="auto">auto</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
        <button type="submit" disabled={model.status === 'loading'}>{info ? 'Reload' : 'Load model'}</button>
      </form>
      <p className="small" data-model-status={model.status}>
        {model.status === 'none' && 'No model loaded. Solve loads it on first use.'}
        {model.status === 'loading' && `Loading…${progress ? ` ${mb(progress.loaded)} of ${mb(progress.total)}${progress.fromCache ? ' (from cache)' : ''}` : ''}`}
        {model.status === 'error' && <span className="error">Could not load the model: {model.error}</span>}
        {model.status === 'ready' && info && <>Loaded <strong>{info.name}</strong> in {(info.loadMs / 1000).toFixed(1)} s.</>}
      </p>
      {model.status === 'loading' && progress && <progress max={progress.total} value={progress.loaded} aria-label="Model download" />}
      {info && c && (
        <>
          <dl className="model-facts small">
            <dt>Backend</dt>
            <dd data-backend={info.backend.backend}>
              {info.backend.backend === 'webgpu' ? 'WebGPU' : 'WASM'} ({info.backend.precision}): {info.backend.reason}
            </dd>
            <dt>Precisions shipped</dt>
            <dd>{info.precisions.join(', ')}</dd>
            <dt>Architecture</dt>
            <dd>
              hidden {c.hidden_size}, {c.num_heads} heads, {c.L_layers} layers, MLP {c.intermediate_size}
            </dd>
            <dt>Recursion</dt>
            <dd>
              {c.halt_max_steps} ACT steps × {c.H_cycles} H-cycles × {c.L_cycles} L-cycles
            </dd>
            <dt>Canvas</dt>
            <dd>
              {c.grid_size}×{c.grid_size} tokens, vocab {c.vocab_size}
            </dd>
            <dt>Puzzle embeddings</dt>
            <dd>
              {info.taskIds.length} task{info.taskIds.length === 1 ? '' : 's'} with trained rows{info.hasTable ? ', plus a full table' : ''}; {c.puzzle_emb_len}×
              {c.puzzle_emb_ndim} per puzzle
            </dd>
            <dt>Cache</dt>
            <dd>
              {info.cache.store === 'indexeddb' ? 'IndexedDB' : 'memory only'}, {info.cache.files} files, {mb(info.cache.bytes)}; {mb(info.networkBytes)} downloaded
            </dd>
          </dl>
          {taskId && <EmbeddingBanner taskId={taskId} />}
          <FittedList model={info.name} />
        </>
      )}
      <StorageStatus />
      {model.notices.length > 0 && (
        <ul className="notices small">
          {model.notices.map((n, i) => (
            <li key={i}>
              {n.kind === 'backend-fallback' ? `Fell back from ${n.from} to ${n.to}: ${n.reason}` :
                n.kind === 'cache-repaired' ? `Re-downloaded a damaged cached file: ${n.file}` : n.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
