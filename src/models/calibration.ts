// Platt scaling: the network's output p becomes σ(a·logit(p) + b), with a
// and b fitted by Newton's method on held-out (probability, outcome) points,
// so that a 0.9 means nine in ten best candidates are the same root cause.

const round = (x: number) => Math.round(x * 1e6) / 1e6;
const logit = (p: number) => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

/** Platt scaling: p' = σ(a·logit(p) + b), fitted by Newton's method on (probability, outcome) points. */
export function fitPlatt(points: Array<{ p: number; y: number }>): { a: number; b: number } {
  const xs = points.map((q) => ({ x: logit(q.p), y: q.y }));
  let a = 1;
  let b = 0;
  for (let it = 0; it < 50; it++) {
    let ga = 0, gb = 0, haa = 1e-6, hab = 0, hbb = 1e-6;
    for (const { x, y } of xs) {
      const q = 1 / (1 + Math.exp(-(a * x + b)));
      const w = q * (1 - q);
      ga += (q - y) * x;
      gb += q - y;
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-12)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { a: round(a), b: round(b) };
}

export function applyPlatt(p: number, c: { a: number; b: number } | undefined): number {
  if (!c) return p;
  return 1 / (1 + Math.exp(-(c.a * logit(p) + c.b)));
}

