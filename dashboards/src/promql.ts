/**
 * PromQL helpers for the dashboard. Every selector carries the template variables' filters, and
 * every rate is over `$__rate_interval` (Grafana's range: at least four scrape intervals, and the
 * step), so no panel has a fixed range and none goes blank when the scrape interval is longer.
 *
 * The filters work both on Kubernetes, where Prometheus adds `namespace` and `pod` labels, and on a
 * bare scrape without them: each is a regex match whose All value is `.*`, and `.*` also matches a
 * label a series does not have (Prometheus reads a missing label as the empty string).
 */

/** The template variables every query filters by, in the order they narrow. */
export const FILTER_LABELS = ['job', 'namespace', 'pod', 'instance'] as const;
export type FilterLabel = (typeof FILTER_LABELS)[number];

/** `label=~"$label", …` for `labels` (the variable bears the label's name). */
export const filters = (labels: readonly FilterLabel[] = FILTER_LABELS): string => labels.map((l) => `${l}=~"$${l}"`).join(', ');

/** `name{job=~"$job", namespace=~"$namespace", pod=~"$pod", instance=~"$instance"}` */
export const series = (name: string): string => `${name}{${filters()}}`;

/** The range every rate-like function takes. */
export const RATE_INTERVAL = '$__rate_interval';

/** Per-second rate of a counter over `$__rate_interval`. */
export const rate = (name: string): string => `rate(${series(name)}[${RATE_INTERVAL}])`;

/** `sum by (labels) (expr)`, or `sum(expr)` without labels. */
export const sumBy = (labels: string[], expr: string): string => (labels.length === 0 ? `sum(${expr})` : `sum by (${labels.join(', ')}) (${expr})`);

/** The `q` quantile of a histogram over all the selected brokers. */
export const quantile = (q: number, histogram: string): string => `histogram_quantile(${q}, ${sumBy(['le'], rate(`${histogram}_bucket`))})`;
