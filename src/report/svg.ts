/** Small inline SVG charts: the report must render without network access or scripts from a CDN. */

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function fmt(n: number): string {
  if (n === 0) return "0";
  const a = Math.abs(n);
  if (a >= 1000) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 0.01) return n.toFixed(2);
  return n.toExponential(1);
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color: string;
}

/**
 * A line chart (the training loss curve): axes with min/max ticks and a legend. A series of one
 * point is a dot, so one series per point makes a scatter plot (cost against resolve rate per arm);
 * `xMin` and `yMax` widen the axes past the data (a rate's axis up to 1, a cost's from 0).
 */
export function lineChart(title: string, series: Series[], opts: { width?: number; height?: number; xLabel?: string; yLabel?: string; xMin?: number; yMax?: number } = {}): string {
  const width = opts.width ?? 560;
  const height = opts.height ?? 260;
  const pad = { left: 56, right: 16, top: 28, bottom: 40 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const head = `<svg class="chart" role="img" aria-label="${escapeXml(title)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${escapeXml(title)}</title>`;
  if (all.length === 0) return `${head}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  const xMin = Math.min(...(opts.xMin !== undefined ? [opts.xMin] : []), ...all.map((p) => p.x));
  const xMax = Math.max(...all.map((p) => p.x));
  const yMin = Math.min(0, ...all.map((p) => p.y));
  const yMax = Math.max(...(opts.yMax !== undefined ? [opts.yMax] : []), ...all.map((p) => p.y)) || 1;
  const sx = (x: number): number => pad.left + ((x - xMin) / (xMax - xMin || 1)) * (width - pad.left - pad.right);
  const sy = (y: number): number => height - pad.bottom - ((y - yMin) / (yMax - yMin || 1)) * (height - pad.top - pad.bottom);
  const parts = [head, `<text x="${pad.left}" y="16" class="chart-title">${escapeXml(title)}</text>`];
  parts.push(`<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" class="axis"/>`);
  parts.push(`<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" class="axis"/>`);
  for (const y of [yMin, (yMin + yMax) / 2, yMax]) {
    parts.push(`<text x="${pad.left - 6}" y="${sy(y) + 4}" text-anchor="end" class="tick">${fmt(y)}</text>`);
  }
  for (const x of [xMin, xMax]) parts.push(`<text x="${sx(x)}" y="${height - pad.bottom + 16}" text-anchor="middle" class="tick">${fmt(x)}</text>`);
  if (opts.yLabel) parts.push(`<text transform="rotate(-90)" x="${-(height - pad.bottom + pad.top) / 2}" y="12" text-anchor="middle" class="tick">${escapeXml(opts.yLabel)}</text>`);
  if (opts.xLabel) parts.push(`<text x="${(width + pad.left) / 2}" y="${height - 6}" text-anchor="middle" class="tick">${escapeXml(opts.xLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 1) parts.push(`<circle class="point" data-series="${escapeXml(s.name)}" cx="${sx(pts[0]!.x)}" cy="${sy(pts[0]!.y)}" r="4" fill="${s.color}"><title>${escapeXml(`${s.name}: ${fmt(pts[0]!.x)}, ${fmt(pts[0]!.y)}`)}</title></circle>`);
    else parts.push(`<polyline class="series" data-series="${escapeXml(s.name)}" fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ")}"/>`);
    parts.push(`<rect x="${width - pad.right - 120}" y="${pad.top + i * 16}" width="10" height="10" fill="${s.color}"/><text x="${width - pad.right - 105}" y="${pad.top + i * 16 + 9}" class="tick">${escapeXml(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}

export interface BarGroup {
  label: string;
  values: { name: string; value: number | null; color: string }[];
}

/** Grouped horizontal bars on a 0..max scale (success rates, judge dimensions per model). */
export function barChart(title: string, groups: BarGroup[], opts: { max?: number; width?: number; percent?: boolean } = {}): string {
  const width = opts.width ?? 560;
  const barH = 12;
  const labelW = 150;
  const rowsPer = Math.max(1, ...groups.map((g) => g.values.length));
  const groupH = rowsPer * (barH + 2) + 10;
  const height = 30 + groups.length * groupH;
  const max = opts.max ?? Math.max(1e-9, ...groups.flatMap((g) => g.values.map((v) => v.value ?? 0)));
  // Room after the longest bar for its label ("teacher 100%").
  const scale = (v: number): number => (Math.max(0, v) / max) * (width - labelW - 120);
  const parts = [`<svg class="chart" role="img" aria-label="${escapeXml(title)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${escapeXml(title)}</title><text x="0" y="16" class="chart-title">${escapeXml(title)}</text>`];
  groups.forEach((g, gi) => {
    const y0 = 28 + gi * groupH;
    parts.push(`<text x="0" y="${y0 + barH}" class="tick">${escapeXml(g.label)}</text>`);
    g.values.forEach((v, vi) => {
      const y = y0 + vi * (barH + 2);
      const w = v.value === null ? 0 : scale(v.value);
      const text = v.value === null ? "n/a" : opts.percent ? `${(v.value * 100).toFixed(0)}%` : fmt(v.value);
      parts.push(`<rect class="bar" data-model="${escapeXml(v.name)}" x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${v.color}"><title>${escapeXml(`${v.name}: ${text}`)}</title></rect>`);
      parts.push(`<text x="${labelW + w + 4}" y="${y + barH - 2}" class="tick">${escapeXml(`${v.name} ${text}`)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("");
}
