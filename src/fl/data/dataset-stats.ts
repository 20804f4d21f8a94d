/**
 * Label statistics of a partition, for logs and for tests that measure skew.
 */
import { FlConfigError } from '../errors.js';
import type { Labels } from './partition.js';

/** Counts of each class 0..numClasses-1 among `labels[indices]` (all labels when indices is omitted). */
export function labelHistogram(labels: Labels, indices: readonly number[] | undefined, numClasses: number): number[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new FlConfigError(`labelHistogram: numClasses must be a positive integer, got ${numClasses}; pass the number of classes (max label + 1)`, { op: 'labelHistogram', field: 'numClasses' });
  }
  const hist = new Array<number>(numClasses).fill(0);
  const count = indices ? indices.length : labels.length;
  for (let k = 0; k < count; k++) {
    const i = indices ? indices[k] : k;
    if (!Number.isInteger(i) || i < 0 || i >= labels.length) {
      throw new FlConfigError(`labelHistogram: index ${i} is outside 0..${labels.length - 1}; the indices must come from a partition of these labels`, { op: 'labelHistogram', field: 'indices', index: i });
    }
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new FlConfigError(`labelHistogram: labels[${i}] = ${l} is outside 0..${numClasses - 1}; raise numClasses to at least ${Number.isInteger(l) && l >= 0 ? l + 1 : 'max label + 1'}`, { op: 'labelHistogram', field: 'labels', index: i });
    }
    hist[l]++;
  }
  return hist;
}

/** Shannon entropy (bits) of a histogram; 0 for an empty one. log2(numClasses) is the IID ceiling. */
export function histogramEntropy(hist: readonly number[]): number {
  let total = 0;
  for (const h of hist) total += h;
  if (total === 0) return 0;
  let e = 0;
  for (const h of hist) if (h > 0) e -= (h / total) * Math.log2(h / total);
  return e;
}

export interface PartitionSummary {
  clients: number;
  /** Samples assigned in total (less than the data set when a partitioner drops a tail). */
  assigned: number;
  minSize: number;
  maxSize: number;
  meanSize: number;
  /** Mean over clients of the number of classes present. */
  meanDistinctLabels: number;
  /** Mean over non-empty clients of the label entropy in bits: low means skewed. */
  meanLabelEntropy: number;
  /** Per-client label histograms, in client order. */
  histograms: number[][];
}

/** Summarises a partition's sizes and label skew. */
export function summarizePartition(labels: Labels, parts: readonly (readonly number[])[], numClasses: number): PartitionSummary {
  const histograms = parts.map((p) => labelHistogram(labels, p, numClasses));
  const sizes = parts.map((p) => p.length);
  const assigned = sizes.reduce((a, b) => a + b, 0);
  const nonEmpty = histograms.filter((_, c) => sizes[c] > 0);
  const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    clients: parts.length,
    assigned,
    // reduce, not Math.min(...sizes): spreading 100k+ clients would overflow the stack.
    minSize: sizes.length ? sizes.reduce((a, b) => Math.min(a, b)) : 0,
    maxSize: sizes.length ? sizes.reduce((a, b) => Math.max(a, b)) : 0,
    meanSize: mean(sizes),
    meanDistinctLabels: mean(histograms.map((h) => h.filter((x) => x > 0).length)),
    meanLabelEntropy: mean(nonEmpty.map(histogramEntropy)),
    histograms,
  };
}

/** One log line, e.g. `100 clients, 60000 samples, size 600..600 (mean 600.0), 2.00 labels/client, entropy 0.99 bits`. */
export function formatPartitionSummary(s: PartitionSummary): string {
  return (
    `${s.clients} clients, ${s.assigned} samples, size ${s.minSize}..${s.maxSize} (mean ${s.meanSize.toFixed(1)}), ` +
    `${s.meanDistinctLabels.toFixed(2)} labels/client, entropy ${s.meanLabelEntropy.toFixed(2)} bits`
  );
}
