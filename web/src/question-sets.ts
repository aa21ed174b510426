/** Sample interviews that ship with the app; a host application would bring its own. */
export interface QuestionSet {
  id: string;
  title: string;
  description: string;
  questions: { text: string; model_answer: string }[];
}

export const QUESTION_SETS: QuestionSet[] = [
  {
    id: 'backend-basics',
    title: 'Backend basics',
    description: 'Three questions on HTTP APIs and databases.',
    questions: [
      {
        text: 'What is the difference between HTTP status codes 401 and 403?',
        model_answer:
          '401 means the request is not authenticated: credentials are missing or invalid. 403 means the server knows who you are but you are not allowed to do this.',
      },
      {
        text: 'Why would you add an index to a database collection?',
        model_answer:
          'An index lets the database find matching documents without scanning the whole collection, which makes queries fast; it costs storage and slows writes a little.',
      },
      {
        text: 'What does it mean for an API operation to be idempotent?',
        model_answer:
          'Repeating the operation has the same effect as doing it once, so a client can safely retry it after a timeout.',
      },
    ],
  },
  {
    id: 'teamwork',
    title: 'Working in a team',
    description: 'Three behavioural questions.',
    questions: [
      {
        text: 'Tell us about a time you disagreed with a colleague. What did you do?',
        model_answer:
          'Listened to understand their view, shared evidence for mine, looked for what we agreed on and agreed on a decision and a way to check it.',
      },
      {
        text: 'How do you review someone else’s code?',
        model_answer:
          'Read the intent first, run it, check correctness, tests and clarity, and write specific, kind comments that separate blocking issues from suggestions.',
      },
      {
        text: 'What do you do when you realise you will miss a deadline?',
        model_answer:
          'Tell the people who depend on it early, explain why, offer options such as reduced scope or a new date, and agree on a plan.',
      },
    ],
  },
  {
    id: 'frontend',
    title: 'Frontend',
    description: 'Three questions on building for the browser.',
    questions: [
      {
        text: 'How do you make a web form accessible?',
        model_answer:
          'Every input has a label, errors are announced and tied to their field, it works with the keyboard alone, focus is visible and order is logical.',
      },
      {
        text: 'Why should a single page app not block the interface while it uploads a file?',
        model_answer:
          'The user can keep working while the upload runs in the background; the app shows progress and retries failures instead of freezing.',
      },
      {
        text: 'What is a Content Security Policy for?',
        model_answer:
          'It tells the browser which sources of scripts, styles and other resources a page may load, limiting the damage of injected code such as cross-site scripting.',
      },
    ],
  },
];
