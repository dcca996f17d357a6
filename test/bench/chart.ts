/** A dependency-free SVG line chart: elapsed time against concurrency (log2 axis), one line a series. */
export type Series = { name: string; color: string; dashed?: boolean; points: { x: number; y: number }[] };

export function lineChart(options: {
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}) {
  const width = 760;
  const height = 440;
  const margin = { left: 70, right: 190, top: 60, bottom: 55 };
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = options.series.flatMap((s) => s.points.map((p) => p.y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.max(1, Math.min(...ys) / 1.5), Math.max(...ys) * 1.5];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (value: number) =>
    margin.left + ((Math.log2(value) - Math.log2(xMin)) / (Math.log2(xMax) - Math.log2(xMin))) * plotW;
  const y = (value: number) =>
    margin.top + plotH - ((Math.log10(value) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${margin.left}" y="24" font-size="16" font-weight="bold">${options.title}</text>`);
  parts.push(`<text x="${margin.left}" y="42" fill="#555">${options.subtitle}</text>`);
  for (let c = xMin; c <= xMax; c *= 2) {
    parts.push(`<line x1="${x(c)}" x2="${x(c)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(c)}" y="${margin.top + plotH + 18}" text-anchor="middle">${c}</text>`);
  }
  for (const tick of [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]) {
    if (tick < yMin || tick > yMax) continue;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`);
    const label = tick >= 1000 ? `${tick / 1000} s` : `${tick} ms`;
    parts.push(`<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end">${label}</text>`);
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${options.xLabel}</text>`);
  parts.push(
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${options.yLabel}</text>`,
  );
  options.series.forEach((series, index) => {
    const path = series.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2.5"${dash}/>`);
    for (const p of series.points) parts.push(`<circle cx="${x(p.x)}" cy="${y(p.y)}" r="3.5" fill="${series.color}"/>`);
    const legendY = margin.top + 14 + index * 22;
    parts.push(
      `<line x1="${width - margin.right + 16}" x2="${width - margin.right + 44}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="2.5"${dash}/>`,
    );
    parts.push(`<text x="${width - margin.right + 50}" y="${legendY}">${series.name}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
