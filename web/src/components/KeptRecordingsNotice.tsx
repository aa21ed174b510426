import { useEffect, useState } from 'react';
import type { ApiClient } from '../api/api-client';
import { resumeKept, userIdOf } from '../interview/device-uploads';
import { pendingRecordings } from '../interview/pending-recordings';

export const OFFLINE_SENTENCE = 'Saved on this device, uploading when you are back online';

/** How often kept recordings are counted again, and tried again when online. */
const REFRESH_MS = 15_000;

interface Props {
  api: ApiClient;
  /** For tests: whether the browser says it is online. */
  isOnline?: () => boolean;
}

/**
 * Finds the signed-in user's recordings kept on this device that no upload of this page is
 * sending (a reload, a crash, a new tab, the network back) and uploads them; while offline it says
 * they are safe here.
 */
const browserOnline = () => navigator.onLine;

export function KeptRecordingsNotice({ api, isOnline = browserOnline }: Props) {
  const [count, setCount] = useState(0);
  const [online, setOnline] = useState(isOnline);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const userId = userIdOf(api.token);
    let stopped = false;
    let running = false;
    const refresh = async () => {
      if (running) return;
      running = true;
      try {
        const now = isOnline();
        setOnline(now);
        const kept = await pendingRecordings(userId);
        if (stopped) return;
        setCount(kept.length);
        if (!now || kept.length === 0) return;
        const report = await resumeKept(api, userId);
        if (stopped) return;
        setProblem(report.failed[0] ?? null);
        setCount((await pendingRecordings(userId)).length);
      } catch (error) {
        if (!stopped) setProblem(error instanceof Error ? error.message : null);
      } finally {
        running = false;
      }
    };
    void refresh();
    const onOnline = () => void refresh();
    const onOffline = () => setOnline(false);
    window.addEventListener('online', onOnline);
    window.addEventListener('offline', onOffline);
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', onOffline);
    };
  }, [api, isOnline]);

  if (count === 0) return null;
  return (
    <p className="notice" role="status" data-testid="kept-recordings">
      {online
        ? `${count === 1 ? 'One answer' : `${count} answers`} saved on this device ${count === 1 ? 'is' : 'are'} being uploaded.`
        : OFFLINE_SENTENCE}
      {online && problem ? ` ${problem}` : ''}
    </p>
  );
}
