import type { Rubric } from '../interview-record/rubric.schema.js';

/** What applies when neither the question nor the session carries a rubric. */
export const DEFAULT_RUBRIC: Rubric = {
  criteria: [
    {
      id: 'correctness',
      name: 'Correctness',
      description: 'Is what the candidate says correct, judged against the model answer?',
      weight: 40,
      levels: [
        'Wrong, or nothing relevant was said.',
        'Mostly wrong, with a correct fragment.',
        'Partly correct, with a clear error.',
        'Correct, with a minor inaccuracy.',
        'Entirely correct.',
      ],
    },
    {
      id: 'completeness',
      name: 'Completeness',
      description: "How many of the model answer's key points the candidate covers.",
      weight: 30,
      levels: [
        'None of the key points.',
        'One key point, or a vague mention of several.',
        'About half of the key points.',
        'Most of the key points.',
        'Every key point.',
      ],
    },
    {
      id: 'clarity',
      name: 'Clarity',
      description: 'Can a listener follow the answer: precise terms, no rambling, no contradiction?',
      weight: 15,
      levels: [
        'Impossible to follow.',
        'Hard to follow.',
        'Understandable with effort.',
        'Clear, with small lapses.',
        'Clear and precise throughout.',
      ],
    },
    {
      id: 'structure',
      name: 'Structure',
      description:
        'Is the answer organised: a point, then its reasons or steps; for a behavioural question, situation, task, action and result (STAR)?',
      weight: 15,
      levels: [
        'No discernible order.',
        'Fragments in a loose order.',
        'Some order, with gaps or jumps.',
        'Well ordered, one part thin or missing.',
        'Well ordered from start to end.',
      ],
    },
  ],
};

/** A question's rubric wins over the session's; without either, the default applies. */
export function rubricFor(session: { rubric?: Rubric | null }, question: { rubric?: Rubric | null }): Rubric {
  return question.rubric ?? session.rubric ?? DEFAULT_RUBRIC;
}
