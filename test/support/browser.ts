import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import type { Collection } from 'mongodb';
import { chromium, type BrowserContext, type CDPSession, type Page, type Request } from 'playwright-core';

/** Debian's chromium package; `npx playwright install` needs the internet, this does not. */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/**
 * A WAV of a voice saying `text`, made with espeak-ng (Debian package espeak-ng), for Chromium's
 * fake microphone: --use-file-for-fake-audio-capture plays it in a loop as the microphone input.
 */
export function spokenWav(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vi-voice-')), 'answer.wav');
  execFileSync('espeak-ng', ['-v', 'en', '-s', '150', '-w', file, text]);
  return file;
}

/**
 * Headless Chromium with a fake microphone fed from `wav` and microphone access granted without a
 * prompt, in a fresh profile of its own.
 */
export async function launchChromiumWithMicrophone(
  wav: string,
  viewport = { width: 390, height: 844 },
): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'vi-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
    ],
  });
}

/** Starts recording an answer (the first or a new take) and lets the fake microphone play for `ms`. */
export async function recordFor(page: Page, ms: number): Promise<void> {
  await page.getByRole('button', { name: /^Record answer$|^Record again$/ }).click();
  await page.getByText(/^Recording… \d+ s$/).waitFor();
  await page.waitForTimeout(ms);
}

/** What the web app keeps on the device (web/src/interview/pending-recordings.ts), without the bytes. */
export interface KeptRecording {
  userId: string;
  sessionId: string;
  questionId: string;
  sha256: string;
  bytes: number;
  uploadUrl: string | null;
}

/**
 * The recordings the app keeps in IndexedDB for `userId`, read in the page. The database is only
 * opened when it exists: opening it first would create it without the app's store.
 */
export async function keptRecordings(page: Page, userId: string): Promise<KeptRecording[]> {
  return (await allKeptRecordings(page)).filter((r) => r.userId === userId);
}

function allKeptRecordings(page: Page): Promise<KeptRecording[]> {
  // a string, because the server's tsconfig has no DOM types; it runs in the page
  return page.evaluate<KeptRecording[]>(`(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes('interview-recordings')) return [];
    return new Promise((resolve, reject) => {
      const opening = indexedDB.open('interview-recordings');
      opening.onerror = () => reject(opening.error);
      opening.onsuccess = () => {
        const db = opening.result;
        if (!db.objectStoreNames.contains('pending')) { db.close(); resolve([]); return; }
        const all = db.transaction('pending').objectStore('pending').getAll();
        all.onerror = () => { db.close(); reject(all.error); };
        all.onsuccess = () => {
          db.close();
          resolve(all.result.map((r) => ({
            userId: r.userId, sessionId: r.sessionId, questionId: r.questionId, sha256: r.sha256,
            bytes: r.bytes.byteLength, uploadUrl: r.uploadUrl ?? null,
          })));
        };
      };
    });
  })()`);
}

/** DevTools network emulation for one page: offline, or an upload throttled to bytes per second. */
export class NetworkEmulation {
  private constructor(private readonly cdp: CDPSession) {}

  static async of(page: Page): Promise<NetworkEmulation> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    return new NetworkEmulation(cdp);
  }

  offline(): Promise<void> {
    return this.set({ offline: true });
  }

  online(uploadBytesPerSecond = -1): Promise<void> {
    return this.set({ offline: false, uploadThroughput: uploadBytesPerSecond });
  }

  private async set(conditions: { offline: boolean; uploadThroughput?: number }): Promise<void> {
    await this.cdp.send('Network.emulateNetworkConditions', {
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
      ...conditions,
    });
  }

  detach(): Promise<void> {
    return this.cdp.detach();
  }
}

/**
 * Serves the built app's own files (index.html, /assets) to the page from disk, as a cached app
 * shell would: with the network emulated offline a reload then still opens the app, while every
 * /api request stays on the (offline) network.
 */
export async function serveAppShell(page: Page, baseUrl: string, webDist: string): Promise<void> {
  await page.route(`${baseUrl}/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (/^\/(api|health|metrics|docs)(\/|$)/.test(path)) return route.fallback();
    const file = path.startsWith('/assets/') ? join(webDist, normalize(path)) : join(webDist, 'index.html');
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
    await route.fulfill({ body: readFileSync(file), contentType: type });
  });
}

/** One tus request as a page sent it, with what the server answered. */
export interface TusExchange {
  method: string;
  url: string;
  /** The Upload-Offset the request carried (PATCH). */
  offset?: number;
  uploadLength?: string;
  deferLength?: string;
  status?: number;
  /** The Upload-Offset the server answered (HEAD, PATCH). */
  serverOffset?: number;
  /** The body's length as sent on the wire (Playwright does not see a Blob body itself). */
  bodyBytes?: number;
  failed?: string;
  /** When it was sent, and when its answer had arrived (ms since the epoch). */
  at: number;
  answeredAt?: number;
}

/** Every request the page makes to /api/uploads, across reloads, with what the server answered. */
export function watchTus(page: Page): TusExchange[] {
  const seen: TusExchange[] = [];
  const byRequest = new Map<Request, TusExchange>();
  page.on('request', (request) => {
    if (!new URL(request.url()).pathname.startsWith('/api/uploads')) return;
    const headers = request.headers();
    const exchange: TusExchange = {
      method: request.method(),
      url: request.url(),
      at: Date.now(),
      ...(headers['upload-offset'] === undefined ? {} : { offset: Number(headers['upload-offset']) }),
      ...(headers['upload-length'] === undefined ? {} : { uploadLength: headers['upload-length'] }),
      ...(headers['upload-defer-length'] === undefined ? {} : { deferLength: headers['upload-defer-length'] }),
    };
    byRequest.set(request, exchange);
    seen.push(exchange);
  });
  page.on('requestfinished', (request) => {
    const exchange = byRequest.get(request);
    if (!exchange) return;
    exchange.answeredAt = Date.now();
    void (async () => {
      const response = await request.response();
      exchange.status = response?.status();
      const offset = response?.headers()['upload-offset'];
      if (offset !== undefined) exchange.serverOffset = Number(offset);
      const length = (await request.allHeaders())['content-length'];
      if (length !== undefined) exchange.bodyBytes = Number(length);
    })();
  });
  page.on('requestfailed', (request) => {
    const exchange = byRequest.get(request);
    if (exchange) exchange.failed = request.failure()?.errorText ?? 'failed';
  });
  return seen;
}

/**
 * A tab of `browser` at the app's interview picker (`url`), signed in with `token` by its host page
 * (window.__INTERVIEW_TOKEN__, so that it stays signed in across reloads), its tus requests watched.
 */
export async function openPicker(browser: BrowserContext, url: string, token: string) {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.addInitScript(`window.__INTERVIEW_TOKEN__ = ${JSON.stringify(token)};`);
  const network = await NetworkEmulation.of(page);
  const tus = watchTus(page);
  await page.goto(url);
  await page.getByRole('heading', { name: 'Choose an interview' }).waitFor();
  return { page, network, tus, pageErrors };
}

/** Starts the first interview of the picker; the id of the session it made, as `sessions` holds it. */
export async function startFirstInterview(page: Page, sessions: Collection, userId: string): Promise<string> {
  await page.getByRole('button', { name: 'Start interview' }).click();
  await page.getByText('Question 1 of 3').waitFor();
  const session = await sessions.findOne({ user_id: userId });
  if (!session) throw new Error(`no session of ${userId} after Start interview`);
  return String(session._id);
}
