import type { CriterionScore } from '../api/types';

function scoreText(c: CriterionScore): string {
  if (c.score === null) return 'not judged';
  if (c.level !== null) return `level ${c.level} of 4`;
  return `${Math.round(c.score)} / 100`;
}

/** Each criterion of the rubric: its score, why, and the candidate's own words that earned it. */
export function CriteriaList({ criteria }: { criteria: CriterionScore[] }) {
  return (
    <ul className="criteria">
      {criteria.map((c) => (
        <li key={c.criterion_id} className="criterion" data-testid="criterion">
          <p className="criterion__head">
            <strong>{c.name}</strong> <span className="criterion__score">{scoreText(c)}</span>
          </p>
          {c.capped_from !== undefined && (
            <p className="criterion__capped">
              Held at level {c.level} (the scorer gave {c.capped_from}) until a person has reviewed it.
            </p>
          )}
          {c.rationale && <p className="criterion__why">{c.rationale}</p>}
          {c.evidence && (
            <blockquote className="criterion__evidence" aria-label={`What you said that counted for ${c.name}`}>
              “{c.evidence}”
            </blockquote>
          )}
          {c.found_terms && c.found_terms.length > 0 && (
            <p className="criterion__terms">Key terms you used: {c.found_terms.join(', ')}</p>
          )}
          {c.missed_terms && c.missed_terms.length > 0 && (
            <p className="criterion__terms">Key terms you did not use: {c.missed_terms.join(', ')}</p>
          )}
        </li>
      ))}
    </ul>
  );
}
