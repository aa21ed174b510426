/** Shown after Finish until the scores are in. */
export function AnalyzingScreen({ remaining }: { remaining: number | null }) {
  return (
    <div className="analyzing" role="status" aria-live="polite">
      <h2>Analyzing...</h2>
      <p>
        {remaining === null || remaining === 0
          ? 'Scoring your answers.'
          : `Waiting for ${remaining} ${remaining === 1 ? 'answer' : 'answers'} to be transcribed.`}
      </p>
    </div>
  );
}
