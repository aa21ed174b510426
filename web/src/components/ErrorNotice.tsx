/** An error as a sentence, announced to screen readers as it appears. */
export function ErrorNotice({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="error-notice" role="alert">
      {message}
    </p>
  );
}
