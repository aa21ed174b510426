import type { AnswerDelivery } from '../api/types';

export interface DeliveryRow {
  label: string;
  delivery: AnswerDelivery | null | undefined;
}

const WIDTH = 320;
const LABEL = 36;
const BARS = 170;
const ROW = 46;
const TOP = 26;

const NOT_MEASURED: Record<string, string> = {
  unanswered: 'No answer recorded',
  no_speech: 'No answer was heard',
  not_measured: 'Not measured',
};

/** One line of text for an answer's delivery, or what stands in for it. */
export function deliverySummary(delivery: AnswerDelivery | null | undefined): string {
  if (!delivery || delivery.status !== 'measured') return NOT_MEASURED[delivery?.status ?? 'not_measured'];
  const pauses = delivery.pause_count ?? 0;
  const parts = [
    `${Math.round(delivery.words_per_minute ?? 0)} words per minute`,
    `${pauses} ${pauses === 1 ? 'pause' : 'pauses'} of ${delivery.pause_threshold_seconds} s or more`,
  ];
  if (delivery.longest_pause_seconds !== null) parts.push(`longest pause ${delivery.longest_pause_seconds} s`);
  if (delivery.filler_words_per_minute !== null)
    parts.push(`${delivery.filler_words_per_minute} filler words per minute`);
  return parts.join(', ');
}

const DETECTOR_NAMES: Record<string, string> = { 'webrtc-vad': "WebRTC's voice-activity detector" };

/** How the speech and pauses were found, in one sentence, from the first answer that says so. */
export function measuredBySentence(deliveries: Array<AnswerDelivery | null | undefined>): string | null {
  const by = deliveries.find((d) => d?.measured_by)?.measured_by;
  if (!by) return null;
  return (
    `Speech and pauses found by ${DETECTOR_NAMES[by.name] ?? by.name} (mode ${by.mode}), ` +
    `ignoring sound below ${by.high_pass_hz} Hz and voices more than ${by.level_gate_db} dB quieter than the candidate's; ` +
    `gaps shorter than ${by.min_pause_seconds} s count as speaking.`
  );
}

/**
 * Pace (words per minute) and pauses per question as a small plain SVG bar chart that scales to the
 * screen, with the same numbers in a table below it for screen readers and for anyone who prefers text.
 */
export function DeliveryChart({ rows }: { rows: DeliveryRow[] }) {
  const measured = rows.map((r) => (r.delivery?.status === 'measured' ? r.delivery : null));
  if (measured.every((d) => d === null)) {
    return <p className="delivery__none">Pace and pauses could not be measured for these answers.</p>;
  }
  const maxWpm = Math.max(200, ...measured.map((d) => d?.words_per_minute ?? 0));
  const maxPause = Math.max(5, ...measured.map((d) => d?.longest_pause_seconds ?? 0));
  const height = TOP + rows.length * ROW;
  const threshold = measured.find((d) => d !== null)?.pause_threshold_seconds ?? 1;
  const method = measuredBySentence(rows.map((r) => r.delivery));
  return (
    <figure className="delivery">
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        width="100%"
        role="img"
        aria-labelledby="delivery-chart-title"
        data-testid="delivery-chart"
      >
        <title id="delivery-chart-title">
          Pace and pauses per question: {rows.map((r) => `${r.label}, ${deliverySummary(r.delivery)}`).join('; ')}
        </title>
        <rect x={LABEL} y={4} width={10} height={10} className="delivery__pace" />
        <text x={LABEL + 14} y={13} className="delivery__legend">
          words per minute
        </text>
        <rect x={LABEL + 130} y={4} width={10} height={10} className="delivery__pause" />
        <text x={LABEL + 144} y={13} className="delivery__legend">
          longest pause (s)
        </text>
        {rows.map((row, i) => {
          const y = TOP + i * ROW;
          const d = measured[i];
          return (
            <g key={row.label} data-testid="delivery-row">
              <text x={0} y={y + 20} className="delivery__label">
                {row.label}
              </text>
              {d ? (
                <>
                  <rect
                    x={LABEL}
                    y={y + 4}
                    height={14}
                    width={Math.max(2, ((d.words_per_minute ?? 0) / maxWpm) * BARS)}
                    className="delivery__pace"
                  />
                  <text
                    x={LABEL + ((d.words_per_minute ?? 0) / maxWpm) * BARS + 6}
                    y={y + 16}
                    className="delivery__value"
                  >
                    {Math.round(d.words_per_minute ?? 0)} wpm
                  </text>
                  <rect
                    x={LABEL}
                    y={y + 22}
                    height={10}
                    width={Math.max(2, ((d.longest_pause_seconds ?? 0) / maxPause) * BARS)}
                    className="delivery__pause"
                  />
                  <text
                    x={LABEL + ((d.longest_pause_seconds ?? 0) / maxPause) * BARS + 6}
                    y={y + 32}
                    className="delivery__value"
                  >
                    {d.longest_pause_seconds ?? 0} s, {d.pause_count} {d.pause_count === 1 ? 'pause' : 'pauses'}
                  </text>
                </>
              ) : (
                <text x={LABEL} y={y + 20} className="delivery__missing">
                  {NOT_MEASURED[row.delivery?.status ?? 'not_measured']}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <table className="delivery__table">
          <caption>Pace and pauses per question</caption>
          <thead>
            <tr>
              <th scope="col">Question</th>
              <th scope="col">Words per minute</th>
              <th scope="col">Pauses of {threshold} s or more</th>
              <th scope="col">Longest pause</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => {
              const d = measured[i];
              return (
                <tr key={row.label}>
                  <th scope="row">{row.label}</th>
                  {d ? (
                    <>
                      <td>{Math.round(d.words_per_minute ?? 0)}</td>
                      <td>{d.pause_count}</td>
                      <td>{d.longest_pause_seconds === null ? 'none' : `${d.longest_pause_seconds} s`}</td>
                    </>
                  ) : (
                    <td colSpan={3}>{NOT_MEASURED[row.delivery?.status ?? 'not_measured']}</td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
        {method && (
          <p className="delivery__method" data-testid="delivery-method">
            {method}
          </p>
        )}
      </figcaption>
    </figure>
  );
}
