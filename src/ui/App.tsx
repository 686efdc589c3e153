/**
 * Layout: header (load + display settings), task list on the left, the selected task (or the
 * demo gallery) in the middle with the solver below it, and a side column for the model panel.
 */
import { OfflineBadge, UpdatePrompt } from '../offline/OfflineStatus.tsx';
import { ConferenceButton, ConferenceMode } from './conference/ConferenceMode.tsx';
import { useEditorKeys } from './editor/useEditorKeys.ts';
import { LoadControls } from './load/LoadControls.tsx';
import { LoadReport } from './load/LoadReport.tsx';
import { SettingsBar } from './SettingsBar.tsx';
import { ModelPanel } from './solver/ModelPanel.tsx';
import { SolverPanel } from './solver/SolverPanel.tsx';
import { Gallery } from './tasks/Gallery.tsx';
import { TaskList } from './tasks/TaskList.tsx';
import { TaskView } from './tasks/TaskView.tsx';
import { useAppStore } from './useAppStore.ts';

export function App() {
  useEditorKeys();
  const task = useAppStore((s) => s.tasks.find((t) => t.id === s.selectedTaskId) ?? null);
  return (
    <div className="app">
      <header className="app-header">
        <h1 className="brand">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          TRM Studio
        </h1>
        <LoadControls />
        <ConferenceButton />
        <OfflineBadge />
        <UpdatePrompt />
        <SettingsBar />
      </header>
      <aside className="sidebar">
        <TaskList />
      </aside>
      <main className="main">
        <LoadReport />
        {task ? <TaskView key={task.id} task={task} /> : <Gallery />}
        <SolverPanel />
      </main>
      <aside className="side-panel" aria-label="Model">
        <ModelPanel />
      </aside>
      <ConferenceMode />
    </div>
  );
}
