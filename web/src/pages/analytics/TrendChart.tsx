/** New and closed dialogs per bucket as paired bars: plain SVG, no chart library. */
export function TrendChart({
  title,
  labels,
  summary,
  buckets,
}: {
  title: string;
  labels: { new: string; closed: string };
  summary: string;
  buckets: { start: string; new: number; closed: number }[];
}) {
  const W = 800;
  const H = 220;
  const padL = 40;
  const padB = 36;
  const padT = 24;
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.new, b.closed)));
  const step = (W - padL) / Math.max(1, buckets.length);
  const barW = Math.max(1, step * 0.38);
  const y = (v: number) => H - padB - (v / max) * (H - padB - padT);
  const labelEvery = Math.ceil(buckets.length / 12);
  const NEW = '#1864ab';
  const CLOSED = '#5c940d';
  return (
    <figure style={{ margin: 0 }}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={`${title}: ${summary}`}>
        <title>{title}</title>
        <line x1={padL} y1={H - padB} x2={W} y2={H - padB} stroke="#868e96" />
        <text x={padL - 6} y={y(max) + 4} fontSize="11" textAnchor="end" fill="#495057">
          {max}
        </text>
        <text x={padL - 6} y={H - padB + 4} fontSize="11" textAnchor="end" fill="#495057">
          0
        </text>
        {buckets.map((b, i) => {
          const x = padL + i * step + step * 0.1;
          return (
            <g key={b.start}>
              <rect x={x} y={y(b.new)} width={barW} height={H - padB - y(b.new)} fill={NEW}>
                <title>{`${b.start} — ${labels.new}: ${b.new}`}</title>
              </rect>
              <rect x={x + barW} y={y(b.closed)} width={barW} height={H - padB - y(b.closed)} fill={CLOSED}>
                <title>{`${b.start} — ${labels.closed}: ${b.closed}`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={x + barW} y={H - padB + 16} fontSize="11" textAnchor="middle" fill="#495057">
                  {b.start.slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
        <rect x={padL} y={4} width={10} height={10} fill={NEW} />
        <text x={padL + 14} y={13} fontSize="12" fill="#212529">
          {labels.new}
        </text>
        <rect x={padL + 100} y={4} width={10} height={10} fill={CLOSED} />
        <text x={padL + 114} y={13} fontSize="12" fill="#212529">
          {labels.closed}
        </text>
      </svg>
      <figcaption style={{ fontSize: 12, color: '#495057' }}>{summary}</figcaption>
    </figure>
  );
}
