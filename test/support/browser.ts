import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

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
