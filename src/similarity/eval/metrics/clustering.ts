// Clustering metrics against the labels: B-cubed precision, recall and F1
// (per item: how much of its cluster shares its label, how much of its label
// shares its cluster; averaged over items), and WER's two failure modes —
// bucket spray (the share of root causes split over several clusters) and
// bucket bugs (the share of clusters that mix root causes).

export interface ClusterMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Labels with ≥ 2 items split over more than one cluster, as a share of such labels. */
  spray: number;
  /** Clusters with ≥ 2 items holding more than one label, as a share of such clusters. */
  bugs: number;
  clusters: number;
  /** Per-item precision and recall, for bootstrap intervals. */
  perItem: Array<{ label: string; p: number; r: number }>;
}

export function clusterMetrics(labels: string[], clusters: number[]): ClusterMetrics {
  const byCluster = new Map<number, Map<string, number>>();
  const labelSize = new Map<string, number>();
  const clusterSize = new Map<number, number>();
  labels.forEach((l, i) => {
    const c = clusters[i]!;
    if (!byCluster.has(c)) byCluster.set(c, new Map());
    byCluster.get(c)!.set(l, (byCluster.get(c)!.get(l) ?? 0) + 1);
    labelSize.set(l, (labelSize.get(l) ?? 0) + 1);
    clusterSize.set(c, (clusterSize.get(c) ?? 0) + 1);
  });
  const perItem = labels.map((l, i) => {
    const c = clusters[i]!;
    const both = byCluster.get(c)!.get(l)!;
    return { label: l, p: both / clusterSize.get(c)!, r: both / labelSize.get(l)! };
  });
  const precision = perItem.reduce((a, x) => a + x.p, 0) / Math.max(1, perItem.length);
  const recall = perItem.reduce((a, x) => a + x.r, 0) / Math.max(1, perItem.length);
  const labelClusters = new Map<string, Set<number>>();
  labels.forEach((l, i) => {
    if (!labelClusters.has(l)) labelClusters.set(l, new Set());
    labelClusters.get(l)!.add(clusters[i]!);
  });
  const multi = [...labelSize].filter(([, n]) => n >= 2).map(([l]) => l);
  const spray = multi.length ? multi.filter((l) => labelClusters.get(l)!.size > 1).length / multi.length : 0;
  const big = [...clusterSize].filter(([, n]) => n >= 2).map(([c]) => c);
  const bugs = big.length ? big.filter((c) => byCluster.get(c)!.size > 1).length / big.length : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, spray, bugs, clusters: byCluster.size, perItem };
}
