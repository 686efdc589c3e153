/**
 * Whether conference mode is on, and its pace. `?conference` in the address starts it (a booth
 * laptop can open straight into it); `?pace=<ms>` sets the time each recursion frame stays up.
 */
import { createStore } from 'zustand/vanilla';

export const DEFAULT_PACE_MS = 300;
/** The final prediction stays up this many frames' worth before the next task. */
export const HOLD_FRAMES = 10;

export interface ConferenceState {
  active: boolean;
  paceMs: number;
}

export function conferenceFromUrl(search: string): ConferenceState {
  const params = new URLSearchParams(search);
  const pace = Number(params.get('pace'));
  return { active: params.has('conference'), paceMs: Number.isFinite(pace) && pace > 0 ? pace : DEFAULT_PACE_MS };
}

export const conferenceStore = createStore<ConferenceState>()(() => conferenceFromUrl(globalThis.location?.search ?? ''));

export const setConference = (active: boolean) => conferenceStore.setState({ active });
