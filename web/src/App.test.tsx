import { afterEach, describe, expect, it } from 'vitest';
import { tokenFromHostPage } from './App';

afterEach(() => {
  delete window.__INTERVIEW_TOKEN__;
  window.history.replaceState(null, '', '/');
});

describe('tokenFromHostPage', () => {
  it('takes the token a host page set on window', () => {
    window.__INTERVIEW_TOKEN__ = 'from-host';
    expect(tokenFromHostPage()).toBe('from-host');
  });

  it('takes #token=… and removes it from the address bar', () => {
    window.history.replaceState(null, '', '/interview?x=1#token=abc.def.ghi');
    expect(tokenFromHostPage()).toBe('abc.def.ghi');
    expect(window.location.href).not.toContain('abc.def.ghi');
    expect(window.location.pathname + window.location.search).toBe('/interview?x=1');
  });

  it('is null without either', () => {
    expect(tokenFromHostPage()).toBeNull();
  });
});
