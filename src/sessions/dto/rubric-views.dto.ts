export class RubricCriterionView {
  id: string;
  name: string;
  description: string;
  weight: number;
  /** What levels 0 to 4 mean; empty when the rubric gives none. */
  levels: string[];
}

/** A rubric as stored: the question's, the session's, or the default. */
export class RubricView {
  criteria: RubricCriterionView[];
}
