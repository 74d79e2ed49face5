import { useCallback, useEffect, useRef, useState } from 'react';
import type { Dialog } from '../../api';

/**
 * Getting the manager's attention while they look elsewhere: a browser notification and a short
 * beep for a new dialog and a new client message, and the unread count in the tab title. The
 * permission is asked only when the manager presses the button (browsers ignore or punish a
 * request on load); the beep is synthesised with the Web Audio API, which may only start after a
 * user gesture, so the first click or key press in the workspace prepares it.
 */

const PREF_KEY = 'dziennik.notifications';

export type NotifyState = 'unsupported' | 'default' | 'denied' | 'on' | 'off';

let audio: AudioContext | null = null;

/** Creates or resumes the audio context; call from a user gesture. */
export function primeAudio() {
  try {
    audio ??= new AudioContext();
    if (audio.state === 'suspended') void audio.resume();
  } catch {
    audio = null; // no Web Audio: silent
  }
}

/** Two short rising tones, a quarter of a second in all. */
export function beep() {
  const a = audio;
  if (a?.state !== 'running') return;
  const t = a.currentTime;
  const osc = a.createOscillator();
  const gain = a.createGain();
  osc.type = 'sine';
  osc.frequency.setValueAtTime(880, t);
  osc.frequency.setValueAtTime(1320, t + 0.1);
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.18, t + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.24);
  osc.connect(gain).connect(a.destination);
  osc.start(t);
  osc.stop(t + 0.25);
}

function readPref(): boolean {
  try {
    return localStorage.getItem(PREF_KEY) !== 'off';
  } catch {
    return true;
  }
}

function writePref(on: boolean) {
  try {
    localStorage.setItem(PREF_KEY, on ? 'on' : 'off');
  } catch {
    // not remembered: fine
  }
}

const permissionNow = (): NotificationPermission | 'unsupported' =>
  typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;

/** The manager is not looking at this tab (another tab, another window, minimised). */
export const lookingElsewhere = () => document.visibilityState === 'hidden' || !document.hasFocus();

export interface Alert {
  title: string;
  body: string;
  tag: string;
  onClick: () => void;
}

export function useNotifications() {
  const [permission, setPermission] = useState(permissionNow);
  const [enabled, setEnabled] = useState(readPref);

  useEffect(() => {
    // The permission may be changed in the browser's site settings meanwhile.
    const sync = () => setPermission(permissionNow());
    document.addEventListener('visibilitychange', sync);
    window.addEventListener('focus', sync);
    // The first gesture in the page makes the beep possible.
    const gesture = () => primeAudio();
    window.addEventListener('pointerdown', gesture, { once: true });
    window.addEventListener('keydown', gesture, { once: true });
    return () => {
      document.removeEventListener('visibilitychange', sync);
      window.removeEventListener('focus', sync);
      window.removeEventListener('pointerdown', gesture);
      window.removeEventListener('keydown', gesture);
    };
  }, []);

  const state: NotifyState =
    permission === 'unsupported'
      ? 'unsupported'
      : permission === 'denied'
        ? 'denied'
        : permission === 'default'
          ? 'default'
          : enabled
            ? 'on'
            : 'off';

  const request = useCallback(async () => {
    primeAudio();
    if (typeof Notification === 'undefined') return;
    const p = await Notification.requestPermission();
    setPermission(p);
    if (p === 'granted') {
      setEnabled(true);
      writePref(true);
    }
  }, []);

  const toggle = useCallback(() => {
    primeAudio();
    setEnabled((on) => {
      writePref(!on);
      return !on;
    });
  }, []);

  const enabledRef = useRef(enabled);
  enabledRef.current = enabled;
  const alert = useCallback((a: Alert) => {
    if (!enabledRef.current || !lookingElsewhere()) return;
    beep();
    if (permissionNow() !== 'granted') return;
    try {
      const n = new Notification(a.title, { body: a.body, tag: a.tag, icon: '/favicon.svg' });
      n.onclick = () => {
        window.focus();
        a.onClick();
        n.close();
      };
    } catch {
      // Some mobile browsers allow notifications only from a service worker: the beep and title remain.
    }
  }, []);

  return { state, request, toggle, alert };
}

/** `(3) Dziennik` while there are unread messages. */
export function useTitleCount(count: number, appName: string) {
  useEffect(() => {
    document.title = count > 0 ? `(${count}) ${appName}` : appName;
  }, [count, appName]);
  useEffect(
    () => () => {
      document.title = appName;
    },
    [appName],
  );
}

export type QueueChange =
  | { kind: 'newDialog'; dialog: Dialog }
  | { kind: 'newMessage'; dialog: Dialog }
  | { kind: 'assigned'; dialog: Dialog };

/**
 * Compares the watched queues (unassigned and mine) with what was seen before: a dialog not seen
 * before is a new dialog (or one transferred to me), a newer client message in a known dialog is a
 * new message. The first complete load only records what is there.
 */
export function useQueueChanges(
  lists: { unassigned: Dialog[]; mine: Dialog[] },
  ready: boolean,
  onChange: (c: QueueChange) => void,
) {
  const seen = useRef<Map<number, string | null> | null>(null);
  const handler = useRef(onChange);
  handler.current = onChange;
  useEffect(() => {
    if (!ready) return;
    const all = [...lists.unassigned, ...lists.mine];
    if (seen.current === null) {
      seen.current = new Map(all.map((d) => [d.id, d.lastMessageAt]));
      return;
    }
    const known = seen.current;
    for (const d of all) {
      if (!known.has(d.id)) {
        known.set(d.id, d.lastMessageAt);
        handler.current({ kind: d.status === 'new' ? 'newDialog' : 'assigned', dialog: d });
      } else if (known.get(d.id) !== d.lastMessageAt) {
        known.set(d.id, d.lastMessageAt);
        if (d.lastDirection === 'in') handler.current({ kind: 'newMessage', dialog: d });
      }
    }
  }, [lists, ready]);
}
