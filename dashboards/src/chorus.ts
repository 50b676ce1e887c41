/**
 * The Chorus dashboard, as code: `npm run dashboards` writes it to dashboards/chorus.json. To change
 * a panel, edit it here (the metrics are in docs/metrics.md) and regenerate; keep each panel's uid
 * as it is (it is the panel's identity), give a new panel a new one.
 */
import { dashboard, labelValues, query, row, timeseries, type Dashboard } from './grafana.js';
import { filters, quantile, rate, series, sumBy } from './promql.js';

/** Every broker exports it, once, with its scrape labels: the variables' values come from it. */
const BROKERS = 'chorus_build_info';

export function chorusDashboard(): Dashboard {
  return dashboard({
    uid: 'chorus-overview',
    title: 'Chorus',
    tags: ['chorus'],
    variables: [
      { name: 'job', label: 'Job', query: labelValues(BROKERS, 'job') },
      { name: 'namespace', label: 'Namespace', query: labelValues(`${BROKERS}{${filters(['job'])}}`, 'namespace') },
      { name: 'pod', label: 'Pod', query: labelValues(`${BROKERS}{${filters(['job', 'namespace'])}}`, 'pod') },
      { name: 'instance', label: 'Broker', query: labelValues(`${BROKERS}{${filters(['job', 'namespace', 'pod'])}}`, 'instance') },
    ],
    rows: [
      row('clients', 'Clients', [
        timeseries({ uid: 'connections', title: 'Connections', unit: 'short', queries: [query(sumBy(['instance'], series('chorus_connections')), '{{instance}}')] }),
        timeseries({ uid: 'subscriptions', title: 'Subscriptions', unit: 'short', queries: [query(sumBy(['instance'], series('chorus_subscriptions')), '{{instance}}')] }),
        timeseries({ uid: 'topics', title: 'Topics kept', unit: 'short', queries: [query(sumBy(['instance'], series('chorus_topics')), '{{instance}}')] }),
      ]),
      row('traffic', 'Traffic', [
        timeseries({ uid: 'publishes', title: 'Publishes accepted /s', unit: 'ops', queries: [query(sumBy(['via'], rate('chorus_messages_in_total')), '{{via}}')] }),
        timeseries({ uid: 'delivered', title: 'Messages delivered /s', unit: 'ops', queries: [query(sumBy(['instance'], rate('chorus_messages_out_total')), '{{instance}}')] }),
        timeseries({
          uid: 'deliver-latency',
          title: 'Publish → deliver latency',
          unit: 's',
          queries: [query(quantile(0.5, 'chorus_publish_deliver_seconds'), 'p50'), query(quantile(0.99, 'chorus_publish_deliver_seconds'), 'p99')],
        }),
        timeseries({ uid: 'bytes-out', title: 'Bytes out /s', unit: 'Bps', queries: [query(sumBy(['instance'], rate('chorus_bytes_out_total')), '{{instance}}')] }),
        timeseries({
          uid: 'frames',
          title: 'Frames in/out /s',
          unit: 'ops',
          queries: [query(sumBy([], rate('chorus_frames_in_total')), 'in'), query(sumBy([], rate('chorus_frames_out_total')), 'out')],
        }),
        timeseries({ uid: 'bytes-in', title: 'Bytes in /s', unit: 'Bps', queries: [query(sumBy(['instance'], rate('chorus_bytes_in_total')), '{{instance}}')] }),
      ]),
      row('refusals', 'Refusals and abuse', [
        timeseries({ uid: 'closes', title: 'Closes by code /s', unit: 'ops', queries: [query(sumBy(['code'], rate('chorus_closes_total')), '{{code}}')] }),
        timeseries({
          uid: 'request-errors',
          title: 'Request errors by code /s',
          unit: 'ops',
          queries: [query(sumBy(['type', 'code'], rate('chorus_request_errors_total')), '{{type}} {{code}}')],
        }),
        timeseries({
          uid: 'protocol-errors',
          title: 'Protocol errors by reason /s',
          unit: 'ops',
          queries: [query(sumBy(['reason'], rate('chorus_protocol_errors_total')), '{{reason}}')],
        }),
        timeseries({ uid: 'slow-consumers', title: 'Slow consumers cut /s', unit: 'ops', queries: [query(sumBy(['instance'], rate('chorus_slow_consumers_total')), '{{instance}}')] }),
        timeseries({
          uid: 'links-refused',
          title: 'Broker links refused /s',
          unit: 'ops',
          queries: [query(sumBy(['reason'], rate('chorus_cluster_links_refused_total')), '{{reason}}')],
        }),
        timeseries({ uid: 'auth-failures', title: 'Auth failures /s', unit: 'ops', queries: [query(sumBy(['via', 'reason'], rate('chorus_auth_failures_total')), '{{via}} {{reason}}')] }),
        timeseries({ uid: 'new-connections', title: 'New connections /s', unit: 'ops', queries: [query(sumBy(['instance'], rate('chorus_connections_total')), '{{instance}}')] }),
      ]),
      row('mesh', 'Mesh', [
        timeseries({
          uid: 'members',
          title: 'Members in view / primary',
          unit: 'short',
          queries: [query(series('chorus_cluster_members'), 'members {{instance}}'), query(series('chorus_cluster_primary'), 'primary {{instance}}')],
        }),
        timeseries({ uid: 'view-id', title: 'View id', unit: 'short', queries: [query(series('chorus_cluster_view_id'), '{{instance}}')] }),
        timeseries({
          uid: 'link-bytes',
          title: 'Broker link bytes /s',
          unit: 'Bps',
          queries: [query(sumBy(['instance', 'direction'], rate('chorus_cluster_link_bytes_total')), '{{instance}} {{direction}}')],
        }),
        timeseries({
          uid: 'lwg-dropped',
          title: 'Lightweight groups: dropped on receipt /s',
          unit: 'ops',
          queries: [
            query(sumBy(['instance'], rate('chorus_lwg_filtered_total')), 'filtered {{instance}}'),
            query(sumBy(['instance'], rate('chorus_lwg_stubs_total')), 'stubs {{instance}}'),
          ],
        }),
        timeseries({
          uid: 'lwg-snapshots',
          title: 'Lightweight groups: snapshots /s',
          unit: 'ops',
          queries: [query(sumBy(['direction'], rate('chorus_lwg_snapshots_total')), '{{direction}}')],
        }),
        timeseries({ uid: 'lwg-load', title: 'State transfer p99', unit: 's', queries: [query(quantile(0.99, 'chorus_lwg_load_seconds'), 'p99')] }),
        timeseries({ uid: 'lwg-lost', title: 'Lightweight groups lost (total)', unit: 'short', queries: [query(sumBy([], series('chorus_lwg_state_lost_total')), 'lost')] }),
      ]),
      row('core', 'Core group', [
        timeseries({ uid: 'core-unstable-bytes', title: 'Unstable bytes held', unit: 'bytes', queries: [query(series('chorus_core_unstable_bytes'), '{{instance}}')] }),
        timeseries({ uid: 'core-unstable-messages', title: 'Unstable messages held', unit: 'short', queries: [query(series('chorus_core_unstable_messages'), '{{instance}}')] }),
        timeseries({ uid: 'core-retransmissions', title: 'Retransmissions /s', unit: 'ops', queries: [query(sumBy(['instance'], rate('chorus_core_retransmissions_total')), '{{instance}}')] }),
        timeseries({ uid: 'core-suspicions', title: 'Suspicions /s', unit: 'ops', queries: [query(sumBy(['instance'], rate('chorus_core_suspicions_total')), '{{instance}}')] }),
        timeseries({ uid: 'core-views', title: 'Views installed /s', unit: 'ops', queries: [query(sumBy(['instance'], rate('chorus_core_views_installed_total')), '{{instance}}')] }),
        timeseries({ uid: 'core-flush', title: 'Flush duration p99', unit: 's', queries: [query(quantile(0.99, 'chorus_core_flush_seconds'), 'p99')] }),
      ]),
      row('process', 'Process', [
        timeseries({ uid: 'cpu', title: 'CPU (cores)', unit: 'short', queries: [query(rate('process_cpu_seconds_total'), '{{instance}}')] }),
        timeseries({ uid: 'memory', title: 'Resident memory', unit: 'bytes', queries: [query(series('process_resident_memory_bytes'), '{{instance}}')] }),
        timeseries({ uid: 'event-loop-lag', title: 'Event-loop lag p99', unit: 's', queries: [query(series('nodejs_eventloop_lag_p99_seconds'), '{{instance}}')] }),
      ]),
    ],
  });
}
