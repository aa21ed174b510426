import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonResponse } from '../test/fake-media';
import { SignInScreen } from './SignInScreen';

afterEach(() => vi.unstubAllGlobals());

describe('SignInScreen', () => {
  it('signs in with a user name through the development endpoint', async () => {
    const fetch = vi.fn(async () => jsonResponse(201, { token: 'T', user_id: 'dana', expires_in: 1 }));
    vi.stubGlobal('fetch', fetch);
    const onSignedIn = vi.fn();
    render(<SignInScreen devLogin onSignedIn={onSignedIn} />);
    await userEvent.type(screen.getByLabelText('User name'), 'dana{Enter}');
    expect(onSignedIn).toHaveBeenCalledWith('T');
    expect(fetch).toHaveBeenCalledWith('/api/auth/dev-token', expect.objectContaining({ body: '{"user_id":"dana"}' }));
  });

  it("shows the server's refusal as a sentence", async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        jsonResponse(400, { statusCode: 400, error: 'Bad Request', message: 'user_id must be 1 to 64 letters' }),
      ),
    );
    render(<SignInScreen devLogin onSignedIn={vi.fn()} />);
    await userEvent.type(screen.getByLabelText('User name'), 'a b');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'user_id must be 1 to 64 letters');
    expect(document.body.textContent).not.toContain('statusCode');
  });

  it('asks for a user name before calling the server', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    render(<SignInScreen devLogin onSignedIn={vi.fn()} />);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByRole('alert').textContent).toBe('Enter a user name to sign in.');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('without development sign-in, explains that the link signs you in', () => {
    render(<SignInScreen devLogin={false} onSignedIn={vi.fn()} />);
    expect(screen.queryByLabelText('User name')).toBeNull();
    expect(screen.getByText(/Open this interview from the link you were given/)).toBeTruthy();
  });
});
