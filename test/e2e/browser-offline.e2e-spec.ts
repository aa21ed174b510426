import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/api.js';
import {
  keptRecordings,
  launchChromiumWithMicrophone,
  openPicker,
  recordFor,
  serveAppShell,
  spokenWav,
  startFirstInterview,
} from '../support/browser.js';
import { eventually } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { metricsText, sample } from '../support/metrics.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WEB_DIST = join(ROOT, 'web/dist');
/** What KeptRecordingsNotice says while the browser is offline (web/src/components/KeptRecordingsNotice.tsx). */
const OFFLINE_SENTENCE = 'Saved on this device, uploading when you are back online';

// the web app must be built before anything starts
beforeAll(() => {
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    throw new Error(`${WEB_DIST}/index.html is missing: run npm run build:web`);
  }
});
// the browser reaches the server through the proxy, so a test can see how many bytes it sent;
// the tests share the fake provider's scripts and requests, as they always did
const { db, fake, app, proxy } = useE2eApp('browser_offline', { proxy: true, resetProvider: false });
let browser: BrowserContext;
// the browser comes up after the server, and (registered after the fixture) goes before it
beforeAll(async () => {
  browser = await launchChromiumWithMicrophone(
    spokenWav('Retries are safe when doing something twice has the same effect as doing it once.'),
  );
});
afterAll(async () => {
  await browser?.close();
});

const openAs = (userId: string) => openPicker(browser, proxy.url, tokenFor(userId));
const startInterview = (page: Page, userId: string) =>
  startFirstInterview(page, db.db.collection('interview_sessions'), userId);

async function acceptedUploads(): Promise<number> {
  return sample(await metricsText(app.url), 'interview_uploads_total{outcome="accepted"}');
}

async function answerOnServer(userId: string, sessionId: string, questionId: string) {
  const res = await fetch(`${app.url}/api/sessions/${sessionId}`, {
    headers: { authorization: `Bearer ${tokenFor(userId)}` },
  });
  expect(res.status).toBe(200);
  const session = (await res.json()) as { answers: Record<string, Record<string, unknown>> };
  return session.answers[questionId];
}

async function waitForTranscript(userId: string, sessionId: string, questionId: string, timeoutMs = 45_000) {
  await eventually(async () => {
    const answer = await answerOnServer(userId, sessionId, questionId);
    expect(answer?.transcription_status).toBe('completed');
  }, timeoutMs);
  return await answerOnServer(userId, sessionId, questionId);
}

describe('recordings kept on the device, in headless Chromium', () => {
  it('keeps an answer recorded offline through a reload, and uploads it exactly once when back online', async () => {
    const heard = 'Doing it twice has the same effect as doing it once.';
    fake.script('q1', { kind: 'ok', text: heard });
    const acceptedBefore = await acceptedUploads();
    const { page, network, tus, pageErrors } = await openAs('olga');
    const sessionId = await startInterview(page, 'olga');

    // the first seconds are streamed while recording (a tus upload of deferred length), the rest not
    await recordFor(page, 1500);
    await network.offline();
    await page.getByRole('button', { name: 'Next question' }).click();
    await page.getByText('Question 2 of 3').waitFor();
    // kept on the device, with the upload that streamed it; offline, it could not be finished
    await expect
      .poll(() => keptRecordings(page, 'olga'))
      .toEqual([
        expect.objectContaining({
          userId: 'olga',
          sessionId,
          questionId: 'q1',
          uploadUrl: expect.stringContaining('/api/uploads/'),
        }),
      ]);
    const [kept] = await keptRecordings(page, 'olga');
    expect(kept.bytes).toBeGreaterThan(2_000);
    // a PATCH still on its way when the network went is answered or fails first (watchTus reads a
    // status after the request finished): what reached the server before the reload is then known
    await expect
      .poll(() => tus.every((t) => t.status !== undefined || t.failed !== undefined), { timeout: 10_000 })
      .toBe(true);
    const streamedBeforeReload = tus.filter((t) => t.status !== undefined).length;

    // the tab reloads while offline: the app shell comes from the "cache", the answer from IndexedDB
    await serveAppShell(page, proxy.url, WEB_DIST);
    await page.reload();
    await page.getByText(OFFLINE_SENTENCE).waitFor();
    expect(await page.evaluate('navigator.onLine')).toBe(false);
    expect(await keptRecordings(page, 'olga')).toEqual([kept]);
    expect(fake.requests.filter((r) => r.sha256 === kept.sha256)).toEqual([]);
    // offline: nothing more reached the server, and nothing was finished
    expect(tus.filter((t) => t.status !== undefined)).toHaveLength(streamedBeforeReload);
    expect(tus.filter((t) => t.status === 202)).toEqual([]);

    await network.online();
    const answer = await waitForTranscript('olga', sessionId, 'q1');
    expect(answer).toMatchObject({ transcript: heard, audio: { sha256: kept.sha256, size_bytes: kept.bytes } });
    await expect.poll(() => keptRecordings(page, 'olga'), { timeout: 10_000 }).toEqual([]);
    await page.getByTestId('kept-recordings').waitFor({ state: 'detached' });

    // exactly once: one tus upload created and finished, one upload accepted, one provider call
    expect(tus.filter((t) => t.method === 'POST' && t.status === 201)).toHaveLength(1);
    expect(tus.filter((t) => t.status === 202)).toHaveLength(1);
    expect(await acceptedUploads()).toBe(acceptedBefore + 1);
    const calls = fake.requests.filter((r) => r.sha256 === kept.sha256);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ questionId: 'q1', bytes: kept.bytes, answered: true });
    const doc = await db.db.collection('interview_sessions').findOne({ user_id: 'olga' });
    expect(doc?.answers.q1).toMatchObject({ transcription_status: 'completed', transcript: heard });
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 90_000);

  it('resumes a slow upload cut by a reload from the server offset, and sends each byte once', async () => {
    const heard = 'An index lets the database find documents without scanning.';
    fake.script('q1', { kind: 'ok', text: heard });
    const acceptedBefore = await acceptedUploads();
    const { page, network, tus, pageErrors } = await openAs('petra');
    const sessionId = await startInterview(page, 'petra');

    // recorded offline, so nothing is streamed while recording: the whole answer is left to send
    const sentBefore = proxy.sentBytes;
    await network.offline();
    await recordFor(page, 5000);
    await network.online(UPLOAD_BYTES_PER_SECOND);
    const patchSent = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().includes('/api/uploads/'));
    await page.getByRole('button', { name: 'Next question' }).click();
    await patchSent;
    await expect
      .poll(() => keptRecordings(page, 'petra'))
      .toEqual([
        expect.objectContaining({ sessionId, questionId: 'q1', uploadUrl: expect.stringContaining('/api/uploads/') }),
      ]);
    const [kept] = await keptRecordings(page, 'petra');
    // a third of the recording has reached the server when the tab reloads
    await eventually(async () => expect(proxy.sentBytes - sentBefore).toBeGreaterThan(kept.bytes / 3), 30_000);
    await page.reload();
    await network.online();

    const answer = await waitForTranscript('petra', sessionId, 'q1');
    expect(answer).toMatchObject({ transcript: heard, audio: { sha256: kept.sha256, size_bytes: kept.bytes } });
    await expect.poll(() => keptRecordings(page, 'petra'), { timeout: 10_000 }).toEqual([]);
    const sentInAll = proxy.sentBytes - sentBefore;

    // one upload was created (tries while offline reached nothing); the cut PATCH started at 0, the
    // one after the reload at the server's offset
    const uploadUrl = new URL(kept.uploadUrl!, proxy.url).href;
    expect(tus.filter((t) => t.method === 'POST' && t.status !== undefined).map((t) => t.status)).toEqual([201]);
    const patches = tus.filter((t) => t.method === 'PATCH');
    expect(patches[0]).toMatchObject({ url: uploadUrl, offset: 0 });
    expect(patches[0].status).toBeUndefined();
    const head = tus.find((t) => t.method === 'HEAD' && t.url === uploadUrl && t.status === 200);
    expect(head?.serverOffset).toBeGreaterThan(kept.bytes / 4);
    const resumed = patches.at(-1)!;
    expect(resumed).toMatchObject({ url: uploadUrl, offset: head!.serverOffset, status: 202 });
    expect(resumed.bodyBytes).toBe(kept.bytes - head!.serverOffset!);
    // every byte crossed the network once: the recording plus the requests' headers, not more
    expect(sentInAll).toBeGreaterThanOrEqual(kept.bytes);
    expect(sentInAll - kept.bytes).toBeLessThan(head!.serverOffset! / 2);

    expect(await acceptedUploads()).toBe(acceptedBefore + 1);
    const calls = fake.requests.filter((r) => r.sha256 === kept.sha256);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ questionId: 'q1', bytes: kept.bytes, answered: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 90_000);

  it('lets only one of two tabs of the same user upload a kept recording', async () => {
    const heard = 'Only one tab sends it.';
    fake.script('q1', { kind: 'ok', text: heard });
    const acceptedBefore = await acceptedUploads();
    // tab A records while offline: its upload queue keeps trying with backoff
    const a = await openAs('quinn');
    const sessionId = await startInterview(a.page, 'quinn');
    await recordFor(a.page, 1500);
    await a.network.offline();
    await a.page.getByRole('button', { name: 'Next question' }).click();
    await expect.poll(() => keptRecordings(a.page, 'quinn')).toHaveLength(1);
    const [kept] = await keptRecordings(a.page, 'quinn');
    await a.page.getByText(/Connection problem; trying again in \d+ s\./).waitFor();

    // tab B, online, finds the kept recording on open and uploads it
    const b = await openAs('quinn');
    const answer = await waitForTranscript('quinn', sessionId, 'q1');
    expect(answer).toMatchObject({ transcript: heard, audio: { sha256: kept.sha256 } });
    await expect.poll(() => keptRecordings(b.page, 'quinn'), { timeout: 10_000 }).toEqual([]);

    // tab A back online: its next try finds the recording sent by B, and sends nothing
    await a.network.online();
    await a.page.getByTestId('status-q1').getByText('Done').waitFor({ timeout: 40_000 });
    expect(await a.page.getByText(/trying again/).count()).toBe(0);
    // A created the upload while recording (streamed online); B finished that same upload
    expect(a.tus.filter((t) => t.status === 202)).toEqual([]);
    expect([...a.tus, ...b.tus].filter((t) => t.method === 'POST').map((t) => t.status)).toEqual([201]);
    expect(b.tus.filter((t) => t.method === 'POST')).toEqual([]);
    expect(b.tus.filter((t) => t.status === 202)).toHaveLength(1);
    expect(await acceptedUploads()).toBe(acceptedBefore + 1);
    expect(fake.requests.filter((r) => r.sha256 === kept.sha256)).toHaveLength(1);
    expect([...a.pageErrors, ...b.pageErrors]).toEqual([]);
    await a.page.close();
    await b.page.close();
  }, 90_000);
});

/** Slow enough that a recording of a few seconds takes several seconds to upload. */
const UPLOAD_BYTES_PER_SECOND = 8_000;
